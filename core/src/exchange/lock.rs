//! A mutex that works with and without `std`: the operating system's with `std` (a waiting
//! thread sleeps), a spin lock without (no scheduler to sleep on). Critical sections here are a
//! few comparisons over a session's pending requests, never a judgement.

#[cfg(feature = "std")]
#[derive(Debug, Default)]
pub(crate) struct Lock<T>(std::sync::Mutex<T>);

#[cfg(feature = "std")]
impl<T> Lock<T> {
    pub(crate) fn new(v: T) -> Self {
        Self(std::sync::Mutex::new(v))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // A panic while holding the lock leaves the table consistent (every update is one
        // push, remove or field write), so later callers go on with it.
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

#[cfg(not(feature = "std"))]
#[derive(Debug, Default)]
pub(crate) struct Lock<T>(spin::Mutex<T>);

#[cfg(not(feature = "std"))]
impl<T> Lock<T> {
    pub(crate) fn new(v: T) -> Self {
        Self(spin::Mutex::new(v))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock())
    }
}

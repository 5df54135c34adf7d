//! Linker settings Node addons need (undefined N-API symbols resolved by the host process).
fn main() {
    napi_build::setup();
}

-- mcp-policy for NGINX (lua-nginx-module: Debian's libnginx-mod-http-lua, OpenResty, Kong):
-- the engine's C library called through LuaJIT's FFI, in front of an MCP server proxied with
-- proxy_pass. Client bodies are judged in the access phase; answers, JSON or SSE, are judged
-- in the body filter, event by event as they stream. Every rule lives in the library (the
-- exchange API); this file only moves bytes between NGINX and it.
--
--   init_worker_by_lua_block { require("mcp_policy").init{ library = ..., header = ...,
--                                policy = ..., upstream = "http://127.0.0.1:3001/mcp" } }
--   location /mcp {
--     access_by_lua_block        { require("mcp_policy").access() }
--     header_filter_by_lua_block { require("mcp_policy").header_filter() }
--     body_filter_by_lua_block   { require("mcp_policy").body_filter() }
--     proxy_pass ...;
--   }
--
-- See README.md beside this file for the whole configuration and what each phase does.

local ffi = require "ffi"

local M = {}

local lib, engine, config
local sessions, session_count = {}, 0

local KIND_REPLY = 2
local HEAD_STREAM = 1
local BODY_SET, BODY_UNCHANGED = 1, 2
local FAILURE_UNJUDGEABLE = 5

-- The header, as LuaJIT's C parser reads it: the preprocessor lines resolved for C before C23
-- (`#ifndef` branches taken, `#if`/`#ifdef` branches skipped, `#else` flips), so the
-- declarations come from the one generated header instead of a copy that could drift.
local function cdef_from_header(path)
  local f = assert(io.open(path, "rb"), "mcp_policy: cannot read the header " .. path)
  local text = f:read("*a")
  f:close()
  local out, stack = {}, {}
  local function active()
    for i = 1, #stack do
      if not stack[i] then return false end
    end
    return true
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local d = line:match("^%s*#%s*(%a+)")
    if d == "ifndef" then
      stack[#stack + 1] = true
    elseif d == "ifdef" or d == "if" then
      stack[#stack + 1] = false
    elseif d == "else" then
      stack[#stack] = not stack[#stack]
    elseif d == "endif" then
      stack[#stack] = nil
    elseif d then
      -- #define, #include: nothing for the FFI (the standard types are built in)
    elseif active() then
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n")
end

local function last_error()
  local n = ffi.new("size_t[1]")
  lib.mcp_policy_last_error_message(nil, 0, n)
  local buf = ffi.new("char[?]", n[0] + 1)
  lib.mcp_policy_last_error_message(buf, n[0] + 1, n)
  return ffi.string(buf, n[0])
end

local function bytes(s)
  return ffi.cast("const uint8_t *", s), #s
end

local function text(slice)
  if slice.len == 0 then return "" end
  return ffi.string(slice.data, slice.len)
end

local function compile(path)
  local f = assert(io.open(path, "rb"), "mcp_policy: cannot read the policy " .. path)
  local doc = f:read("*a")
  f:close()
  local opts = ffi.new("mcp_policy_options")
  local url = config.resource_metadata_url
  if url then
    opts.resource_metadata_url = ffi.cast("const uint8_t *", url)
    opts.resource_metadata_url_len = #url
  end
  opts.max_pending = config.max_pending or 0
  local out = ffi.new("mcp_policy_engine *[1]")
  local p, n = bytes(doc)
  local r = lib.mcp_policy_engine_new(p, n, opts, out)
  if r ~= 0 then
    return nil, path .. ": " .. last_error()
  end
  return ffi.gc(out[0], lib.mcp_policy_engine_free)
end

--- Loads the library and compiles the policy: call it from init_worker_by_lua_block.
-- opts.library: path of libmcp_policy_ffi.so; opts.header: path of mcp_policy.h;
-- opts.policy: the policy file; opts.upstream: the MCP server's URL (http://host:port/path),
-- where the errors answering refused server requests are posted; opts.resource_metadata_url:
-- named in step-up challenges; opts.max_sessions (default 10000).
function M.init(opts)
  config = opts
  if not lib then
    ffi.cdef(cdef_from_header(opts.header))
    lib = ffi.load(opts.library)
  end
  local host, port, path = opts.upstream:match("^http://([^:/]+):?(%d*)(/.*)$")
  assert(host, "mcp_policy: upstream must be http://host[:port]/path, got " .. tostring(opts.upstream))
  config.host, config.port, config.path = host, tonumber(port) or 80, path
  local e, err = compile(opts.policy)
  if not e then error("mcp_policy: the policy does not compile: " .. err) end
  engine = e
end

--- Compiles the policy file again and swaps it in; a policy that does not compile keeps the
-- old one, and the reason is returned. Exchanges in flight finish with the engine they began.
function M.reload()
  local e, err = compile(config.policy)
  if not e then return nil, err end
  engine = e
  return true
end

-- The request's headers as the C array, and the Lua strings it points into (kept alive by
-- the caller for the duration of the call). A header sent twice stays two entries.
local function header_array()
  local raw = ngx.req.get_headers(0, true)
  local names, values = {}, {}
  for name, v in pairs(raw) do
    if type(v) == "table" then
      for _, one in ipairs(v) do
        names[#names + 1], values[#values + 1] = name, one
      end
    else
      names[#names + 1], values[#values + 1] = name, v
    end
  end
  local n = #names
  local arr = ffi.new("mcp_policy_header[?]", n > 0 and n or 1)
  for i = 1, n do
    local h = arr[i - 1]
    h.name, h.name_len = bytes(names[i])
    h.value, h.value_len = bytes(values[i])
  end
  return arr, n, { names, values }
end

-- The context conditions read: the request headers (the library leaves credentials out), and
-- the attributes an authentication step put in $mcp_policy_attributes (a JSON object).
local function context(arr, n)
  local attrs = ngx.var.mcp_policy_attributes
  local out = ffi.new("mcp_policy_context *[1]")
  local ap, al = nil, 0
  if attrs and attrs ~= "" then ap, al = bytes(attrs) end
  if lib.mcp_policy_context_new(arr, n, ap, al, out) ~= 0 then
    return nil, last_error()
  end
  return ffi.gc(out[0], lib.mcp_policy_context_free)
end

-- The session of an Mcp-Session-Id (kept per worker, bounded), or a fresh one.
local function session_for(id)
  local s = id and sessions[id]
  if s then
    s.used = ngx.now()
    return s.handle
  end
  local out = ffi.new("mcp_policy_session *[1]")
  assert(lib.mcp_policy_session_new(engine, out) == 0, "mcp_policy: session")
  return ffi.gc(out[0], lib.mcp_policy_session_free)
end

local function remember(id, handle)
  if sessions[id] then return end
  local max = config.max_sessions or 10000
  if session_count >= max then
    -- Forget the least recently used: its next request starts afresh (the server still knows
    -- the session; only answers waiting on other streams lose their pairing).
    local oldest, at
    for k, s in pairs(sessions) do
      if not at or s.used < at then oldest, at = k, s.used end
    end
    sessions[oldest] = nil
    session_count = session_count - 1
  end
  sessions[id] = { handle = handle, used = ngx.now() }
  session_count = session_count + 1
end

local function reply(o)
  local status = lib.mcp_policy_output_status(o)
  local name, value = ffi.new("mcp_policy_slice[1]"), ffi.new("mcp_policy_slice[1]")
  for i = 0, tonumber(lib.mcp_policy_output_header_count(o)) - 1 do
    if lib.mcp_policy_output_header(o, i, name, value) then
      ngx.header[text(name[0])] = text(value[0])
    end
  end
  local body = text(lib.mcp_policy_output_body(o))
  lib.mcp_policy_output_free(o)
  ngx.status = status
  if body ~= "" then ngx.print(body) end
  return ngx.exit(status)
end

--- The access phase: judges the client's body, answers it here when the policy (or the
-- body's shape) says so, otherwise lets proxy_pass forward it with the exact type it was
-- judged as. GET streams get an exchange that judges what the server sends on them.
function M.access()
  local method = ngx.req.get_method()
  local arr, n, keep = header_array()
  local ctx, err = context(arr, n)
  if not ctx then
    ngx.log(ngx.ERR, "mcp_policy: context: ", err)
    return ngx.exit(500)
  end
  local sid = ngx.req.get_headers()["mcp-session-id"]
  if type(sid) == "table" then
    ngx.status = 400
    ngx.print('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Mcp-Session-Id is sent more than once"}}')
    return ngx.exit(400)
  end
  local session = session_for(sid)
  local state = { context = ctx, session = session, session_id = sid, headers = keep }
  if method == "POST" then
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
      local file = ngx.req.get_body_file()
      if file then
        local f = assert(io.open(file, "rb"))
        body = f:read("*a")
        f:close()
      else
        body = ""
      end
    end
    local verdict, ex = ffi.new("mcp_policy_output *[1]"), ffi.new("mcp_policy_exchange *[1]")
    local p, len = bytes(body)
    if lib.mcp_policy_exchange_new(engine, session, p, len, arr, n, ctx, verdict, ex) ~= 0 then
      ngx.log(ngx.ERR, "mcp_policy: ", last_error())
      return ngx.exit(500)
    end
    local v = verdict[0]
    if lib.mcp_policy_output_kind(v) == KIND_REPLY then
      return reply(v)
    end
    ngx.req.set_header("Content-Type", text(lib.mcp_policy_output_content_type(v)))
    lib.mcp_policy_output_free(v)
    state.exchange = ffi.gc(ex[0], lib.mcp_policy_exchange_free)
  elseif method == "GET" then
    local last = ngx.req.get_headers()["last-event-id"]
    if type(last) == "table" then last = last[1] end
    local ex = ffi.new("mcp_policy_exchange *[1]")
    local lp, ll = nil, 0
    if last then lp, ll = bytes(last) end
    if lib.mcp_policy_exchange_new_stream(engine, session, lp, ll, ex) ~= 0 then
      ngx.log(ngx.ERR, "mcp_policy: ", last_error())
      return ngx.exit(500)
    end
    state.exchange = ffi.gc(ex[0], lib.mcp_policy_exchange_free)
  elseif method == "DELETE" and sid and sessions[sid] then
    sessions[sid] = nil
    session_count = session_count - 1
  end
  ngx.ctx.mcp_policy = state
end

local function one(v)
  if type(v) == "table" then
    -- Sent twice: receivers disagree on which counts; the library refuses what it gets.
    return table.concat(v, ", ")
  end
  return v
end

--- The header filter: tells the exchange what the server's head says. An event stream is
-- streamed (judged event by event); anything else is read whole before it is judged.
function M.header_filter()
  local st = ngx.ctx.mcp_policy
  if not st or not st.exchange then return end
  local ct, ce = one(ngx.header["Content-Type"]), one(ngx.header["Content-Encoding"])
  local head = ffi.new("mcp_policy_head[1]")
  local cp, cl, ep, el = nil, 0, nil, 0
  if ct then cp, cl = bytes(ct) end
  if ce then ep, el = bytes(ce) end
  if lib.mcp_policy_exchange_head(st.exchange, ngx.status, cp, cl, ep, el, head) ~= 0 then
    ngx.log(ngx.ERR, "mcp_policy: ", last_error())
  end
  st.stream = head[0] == HEAD_STREAM
  st.chunks = {}
  local sid = one(ngx.header["Mcp-Session-Id"])
  if sid and not st.session_id then remember(sid, st.session) end
  st.session_id = st.session_id or sid
  st.protocol = one(ngx.req.get_headers()["mcp-protocol-version"])
  -- The body is rewritten: its length changes, and it is never compressed.
  ngx.header["Content-Length"] = nil
  ngx.header["Content-Encoding"] = nil
  if st.stream then
    ngx.header["Content-Type"] = "text/event-stream"
  elseif ct and ngx.status ~= 202 and ngx.status ~= 204 then
    -- NGINX sends the head before the body exists; every whole answer the library writes
    -- for a body is JSON (an SSE body read whole keeps its type).
    if not ct:lower():find("text/event-stream", 1, true) then
      ngx.header["Content-Type"] = "application/json"
    end
  end
end

-- Posts the errors answering refused server requests back to the server, so its calls end
-- instead of hanging. Body filters cannot open sockets; a timer can.
local function post_to_server(premature, bodies, sid, protocol)
  if premature then return end
  for _, body in ipairs(bodies) do
    local sock = ngx.socket.tcp()
    sock:settimeouts(2000, 2000, 5000)
    local ok, err = sock:connect(config.host, config.port)
    if not ok then
      ngx.log(ngx.WARN, "mcp_policy: cannot post to the server: ", err)
      return
    end
    local req = {
      "POST ", config.path, " HTTP/1.1\r\nHost: ", config.host, "\r\n",
      "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n",
      "Content-Length: ", #body, "\r\nConnection: close\r\n",
    }
    if sid then req[#req + 1] = "Mcp-Session-Id: " .. sid .. "\r\n" end
    if protocol then req[#req + 1] = "MCP-Protocol-Version: " .. protocol .. "\r\n" end
    req[#req + 1] = "\r\n"
    req[#req + 1] = body
    sock:send(table.concat(req))
    sock:receive("*l")
    sock:close()
  end
end

local function take(st, o, out)
  local n = tonumber(lib.mcp_policy_output_to_server_count(o))
  if n > 0 then
    local bodies = {}
    for i = 0, n - 1 do bodies[#bodies + 1] = text(lib.mcp_policy_output_to_server(o, i)) end
    ngx.timer.at(0, post_to_server, bodies, st.session_id, st.protocol)
  end
  out[#out + 1] = text(lib.mcp_policy_output_body(o))
  if lib.mcp_policy_output_end(o) then st.ended = true end
  lib.mcp_policy_output_free(o)
end

--- The body filter: SSE chunks are judged as they arrive and only whole, judged events go
-- on; a whole body is collected, judged, and replaced by what the library answers.
function M.body_filter()
  local st = ngx.ctx.mcp_policy
  if not st or not st.exchange or st.stream == nil then return end
  local chunk, eof = ngx.arg[1], ngx.arg[2]
  local o = ffi.new("mcp_policy_output *[1]")
  if st.stream then
    if st.ended then
      ngx.arg[1] = nil
      return
    end
    local out = {}
    if chunk and chunk ~= "" then
      local p, n = bytes(chunk)
      if lib.mcp_policy_exchange_chunk(st.exchange, p, n, st.context, o) == 0 then
        take(st, o[0], out)
      end
    end
    if eof and not st.ended then
      if lib.mcp_policy_exchange_finish(st.exchange, o) == 0 then take(st, o[0], out) end
    end
    ngx.arg[1] = table.concat(out)
    if st.ended then ngx.arg[2] = true end
    return
  end
  if chunk and chunk ~= "" then
    st.size = (st.size or 0) + #chunk
    if st.size <= (config.max_body_bytes or 4194304) then
      st.chunks[#st.chunks + 1] = chunk
    else
      st.too_large = true
    end
  end
  if not eof then
    ngx.arg[1] = nil
    return
  end
  local body = table.concat(st.chunks)
  st.chunks = nil
  local out = {}
  if st.too_large then
    -- Never deliver what was not judged: the waiting requests get errors instead.
    local detail = "the server's answer is larger than the gateway reads"
    local p, n = bytes(detail)
    if lib.mcp_policy_exchange_fail(st.exchange, FAILURE_UNJUDGEABLE, p, n, false, o) == 0 then
      out[1] = text(lib.mcp_policy_output_body(o[0]))
      lib.mcp_policy_output_free(o[0])
    end
  else
    local p, n = bytes(body)
    if lib.mcp_policy_exchange_body(st.exchange, p, n, st.context, o) == 0 then
      local state = lib.mcp_policy_output_body_state(o[0])
      if state == BODY_UNCHANGED then
        out[1] = body
        local bodies = {}
        for i = 0, tonumber(lib.mcp_policy_output_to_server_count(o[0])) - 1 do
          bodies[#bodies + 1] = text(lib.mcp_policy_output_to_server(o[0], i))
        end
        if #bodies > 0 then ngx.timer.at(0, post_to_server, bodies, st.session_id, st.protocol) end
        lib.mcp_policy_output_free(o[0])
      elseif state == BODY_SET then
        take(st, o[0], out)
      else
        lib.mcp_policy_output_free(o[0])
      end
    end
  end
  ngx.arg[1] = table.concat(out)
end

return M

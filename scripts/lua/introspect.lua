-- POST /oauth2/introspect as an API gateway asks: the token to check in INTROSPECT_TOKEN, the
-- gateway's system key in INTROSPECT_SYSTEM_KEY (both form-safe: base64url and dots).
wrk.method = "POST"
wrk.body = "token=" .. os.getenv("INTROSPECT_TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("INTROSPECT_SYSTEM_KEY")

-- DirectLogin of one user, over and over (each answer is a new session token).
wrk.method = "POST"
wrk.headers["DirectLogin"] = string.format(
  'username=load, password="Tr0ub4dour&3x", consumer_key=%s', os.getenv("CONSUMER_KEY"))

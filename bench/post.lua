-- wrk script: POST a form with HTTP Basic client authentication.
-- BODY and AUTH come from the environment (set by bench/run.sh).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("AUTH")

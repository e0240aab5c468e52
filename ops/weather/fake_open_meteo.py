#!/usr/bin/env python3
"""A local fake of Open-Meteo's forecast API (https://open-meteo.com/en/docs) for a machine
without internet: the tests and ./ops/run's demo stack point fofal-weather at it
(FOFAL_WEATHER_URL). It serves the recorded response ops/weather/ksar_hellal.json in the
API's exact format, its hours moved to start today at 00:00 UTC (so "tomorrow" always has
data) and cut or repeated to forecast_days x 24 hours.

  GET /v1/forecast?latitude=..&longitude=..&hourly=temperature_2m,relative_humidity_2m
      &timezone=UTC&forecast_days=N                    the recorded forecast
  GET /<mode>/v1/forecast?...                          a bad response, for the tests:
      truncated  the JSON cut in the middle      http500  a 500 with a text body
      error      Open-Meteo's own error object   huge     8 MiB of JSON
      wrongtype  temperatures as strings
  GET /_requests                                        {"forecast": <requests served>}

Wrong or missing query parameters get Open-Meteo's 400 {"error": true, "reason": ...}.
Only the Python standard library (http.server).

usage: fake_open_meteo.py [--port N] [--config STACK_ENV] [--response FILE]
  --port      default FOFAL_WEATHER_FAKE_PORT (environment or --config file), else 18095
  --config    a KEY=VALUE file (var/dev/stack.env) to read FOFAL_WEATHER_FAKE_PORT from
"""
import datetime
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
REQUESTS = {"forecast": 0}
LOCK = threading.Lock()


def recorded(path, days):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    h = doc["hourly"]
    n = len(h["time"])
    start = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    want = days * 24
    h["time"] = [(start + datetime.timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M") for i in range(want)]
    h["temperature_2m"] = [h["temperature_2m"][i % n] for i in range(want)]
    h["relative_humidity_2m"] = [h["relative_humidity_2m"][i % n] for i in range(want)]
    return doc


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-open-meteo/1"
    response_file = os.path.join(HERE, "ksar_hellal.json")

    def send(self, status, body, ctype="application/json; charset=utf-8"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, reason):
        self.send(400, json.dumps({"error": True, "reason": reason}))

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/_requests":
            with LOCK:
                return self.send(200, json.dumps(REQUESTS))
        parts = url.path.strip("/").split("/")
        mode = parts[0] if len(parts) == 3 else ""
        if parts[-2:] != ["v1", "forecast"] or len(parts) > 3:
            return self.send(404, json.dumps({"error": True, "reason": "Not Found"}))
        with LOCK:
            REQUESTS["forecast"] += 1
        q = parse_qs(url.query)
        try:
            lat = float(q["latitude"][0])
            lon = float(q["longitude"][0])
            days = int(q.get("forecast_days", ["7"])[0])
        except (KeyError, ValueError, IndexError):
            return self.error("Parameter 'latitude' and 'longitude' must be floating point numbers")
        if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
            return self.error("Latitude must be in range of -90 to 90°. Given: %s." % lat)
        if not 1 <= days <= 16:
            return self.error("Forecast days is invalid. Allowed range 0 to 16. Given %d." % days)
        doc = recorded(self.response_file, days)
        doc["latitude"], doc["longitude"] = round(lat * 8) / 8, round(lon * 8) / 8
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        if mode == "truncated":
            return self.send(200, body[: len(body) // 2])
        if mode == "http500":
            return self.send(500, "Internal Server Error", "text/plain")
        if mode == "error":
            return self.error("Cannot initialize WeatherVariable from invalid String value tempeture_2m for key hourly")
        if mode == "huge":
            return self.send(200, '{"pad":"' + "x" * (8 << 20) + '"}')
        if mode == "wrongtype":
            doc["hourly"]["temperature_2m"] = [str(v) for v in doc["hourly"]["temperature_2m"]]
            return self.send(200, json.dumps(doc, ensure_ascii=False))
        if mode:
            return self.send(404, json.dumps({"error": True, "reason": "Not Found"}))
        return self.send(200, body)

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-open-meteo: %s %s\n" % (self.log_date_time_string(), fmt % args))


def config_port(path):
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    line = line[7:]
                if line.startswith("FOFAL_WEATHER_FAKE_PORT="):
                    return line.split("=", 1)[1].strip('"')
    except OSError as e:
        sys.exit("fake_open_meteo.py: %s" % e)
    return None


def main(argv):
    port = os.environ.get("FOFAL_WEATHER_FAKE_PORT")
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__)
            return 0
        if a in ("--port", "--config", "--response") and i + 1 < len(argv):
            v = argv[i + 1]
            i += 2
        elif "=" in a and a.split("=", 1)[0] in ("--port", "--config", "--response"):
            a, v = a.split("=", 1)
            i += 1
        else:
            sys.stderr.write("fake_open_meteo.py: unknown argument %s (see --help)\n" % a)
            return 2
        if a == "--port":
            port = v
        elif a == "--config":
            port = os.environ.get("FOFAL_WEATHER_FAKE_PORT") or config_port(v) or port
        else:
            Handler.response_file = v
    server = ThreadingHTTPServer(("127.0.0.1", int(port or 18095)), Handler)
    sys.stderr.write("fake-open-meteo: serving %s on http://127.0.0.1:%d\n" % (Handler.response_file, server.server_port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

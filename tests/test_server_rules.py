"""The rules every server app follows (seqlab.serving.rules): JSON errors for any failure,
body limits with or without a Content-Length, and time limits for slow clients.

The task apps are built around stub models whose every method raises, so the catch-all
is checked on each app without training anything."""

import json
import socket
import time
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
from fastapi.testclient import TestClient

from seqlab.serving.app import ServedModel, ServeSettings, create_app
from seqlab.serving.rules import BodyLimit
from seqlab.tasks.classify import routes as classify_routes
from seqlab.tasks.forecast import routes as forecast_routes
from seqlab.tasks.lm import routes as lm_routes
from seqlab.tasks.tag import routes as tag_routes

from conftest import SAMPLE, running_server

IDENTITY = {"name": "stub", "version": "0"}
CONFIG = SimpleNamespace(model_dump=lambda mode: {},
                         window=SimpleNamespace(lookback=2),
                         corpus=SimpleNamespace(level="char"))


def broken(*args, **kwargs):
    raise RuntimeError("secret internal detail")


class StubClassifier:
    def __init__(self):
        self.labels_ = ["a", "b"]

    def predict_proba(self, texts):
        return broken()


def served(mount, **model):
    """The one server app around a stub model, with a task's routes."""
    return create_app(ServedModel(IDENTITY, lambda app, lock: mount(
        app, lock, identity=IDENTITY, **model)))


def stub_apps():
    """(name, app, path, a valid body) for each task's routes, every model call failing."""
    classifier = served(classify_routes.mount, predictor=StubClassifier(), facts={},
                        settings=ServeSettings(model="stub"))
    tagger = SimpleNamespace(entities_=True, tags_=["O"], source_scheme_="iob2",
                             config=CONFIG, tag_texts=broken)
    lm = SimpleNamespace(config=CONFIG, vocab_=[], generate=broken, generate_many=broken,
                         complete_many=broken)
    forecaster = SimpleNamespace(columns_=["y"], config=CONFIG, horizon=1, target_="y",
                                 freq_=None, season_=1, forecast_many=broken,
                                 min_history=lambda: 1)
    return [
        ("classifier", classifier, "/predict", {"text": "hello"}),
        ("tagger", served(tag_routes.mount, tagger=tagger, settings=ServeSettings(model="stub")),
         "/tag", {"text": "hello"}),
        ("language model", served(lm_routes.mount, lm=lm, settings=ServeSettings(model="stub")),
         "/generate", {"prompt": "a"}),
        ("forecaster", served(forecast_routes.mount, forecaster=forecaster), "/forecast",
         {"history": [1.0, 2.0, 3.0]}),
    ]


APPS = stub_apps()
IDS = [name for name, *_ in APPS]


@pytest.mark.parametrize(("name", "app", "path", "body"), APPS, ids=IDS)
def test_any_failure_is_json_without_a_traceback(name, app, path, body):
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post(path, json=body)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert "RuntimeError" in error and "secret internal detail" not in error
    assert "Traceback" not in response.text
    assert client.get("/health").json()["status"] == "ok"  # still serving


NOT_JSON = [
    pytest.param(b'{"text": "\xff\xfe"}', id="invalid UTF-8"),
    pytest.param(b"[" * 5000 + b"]" * 5000, id="nested 5000 deep"),
    pytest.param(b'{"text": ' + b"7" * 5000 + b"}", id="a 5000-digit number"),
]


@pytest.mark.parametrize("content", NOT_JSON)
@pytest.mark.parametrize(("name", "app", "path", "body"), APPS, ids=IDS)
def test_bodies_no_parser_takes_are_the_json_error(name, app, path, body, content):
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "not valid JSON" in response.json()["error"]


def _limited(app, **limits):
    return TestClient(BodyLimit(app, **limits), raise_server_exceptions=False)


@pytest.mark.parametrize(("name", "app", "path", "body"), APPS, ids=IDS)
def test_a_streamed_body_over_the_limit_is_413_without_content_length(name, app, path, body):
    client = _limited(app, max_bytes=1000)

    def chunks():
        for _ in range(50):
            yield b" " * 100_000  # 5 MB, sent chunked: no Content-Length header

    response = client.post(path, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over 1000 bytes" in response.json()["error"]
    declared = client.post(path, content=b" " * 2000,
                           headers={"content-type": "application/json"})
    assert declared.status_code == 413
    fine = client.post(path, json=body)
    assert fine.status_code == 500  # got through to the (failing) model


def test_a_seed_past_64_bits_is_refused_by_the_language_model_app():
    _, app, _, _ = APPS[2]
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post("/generate", json={"prompt": "a", "length": 10,
                                              "seed": 1180591620717411303424})
    assert response.status_code == 422 and "seed" in response.json()["error"]


def test_a_history_out_of_range_is_refused_naming_the_position(tmp_path):
    from seqlab.config import apply_overrides
    from seqlab.serving.app import app_for
    from seqlab.tasks.forecast.config import ForecastConfig
    from seqlab.tasks.forecast.workflow import train_forecast

    path = tmp_path / "s.csv"
    path.write_text("month,y\n" + "\n".join(f"{2000 + i // 12}-{i % 12 + 1:02d},"
                                             f"{10 + np.sin(i):.3f}" for i in range(60)))
    cfg = apply_overrides(ForecastConfig(name="f", output_dir=str(tmp_path)), {
        "data.path": str(path), "data.target": "y", "window.lookback": 6,
        "window.horizon": 2, "training.max_epochs": 1, "baselines": ["naive"]})
    run = train_forecast(cfg).run_dir
    client = TestClient(app_for(ServeSettings(model=str(run))), raise_server_exceptions=False)
    for value in ("1e308", "NaN", "Infinity", "-Infinity"):
        history = ", ".join(["10.5"] * 7 + [value] + ["10.5"] * 22)
        response = client.post("/forecast", content=f'{{"history": [{history}]}}',
                               headers={"content-type": "application/json"})
        assert response.status_code == 422, value
        assert response.json()["position"] == 7 and "history[7] (y)" in \
            response.json()["error"], value
    assert client.post("/forecast", json={"history": [10.5] * 30}).status_code == 200


# ---- slow clients, against the real server --------------------------------------------


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory):
    from typer.testing import CliRunner

    from seqlab.cli.main import app as cli

    out = tmp_path_factory.mktemp("slow")
    trained = CliRunner().invoke(cli, ["train", str(SAMPLE), "--kind", "tfidf", "--quiet",
                                       "--output-dir", str(out), "--name", "m"])
    assert trained.exit_code == 0, trained.output
    return out / "m"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def slow_limits_server(request, tfidf_run):
    """The server with 1-second header and body deadlines, with each HTTP parser."""
    with running_server(tfidf_run, "--header-timeout", "1", "--body-timeout", "1",
                        "--http", request.param) as url:
        yield int(url.rsplit(":", 1)[1])


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Read until the server closes the connection or ``seconds`` pass."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
        return True, received
    except TimeoutError:
        return False, received
    except ConnectionResetError:
        return True, received


def test_trickled_headers_are_cut_off(slow_limits_server):
    with socket.create_connection(("127.0.0.1", slow_limits_server)) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        closed, _ = _closed_within(sock, 6)
    assert closed


def test_a_trickled_body_gets_408(slow_limits_server):
    with socket.create_connection(("127.0.0.1", slow_limits_server)) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"te")
        _, received = _closed_within(sock, 6)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert "did not arrive" in json.loads(body)["error"]


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP response (headers and a Content-Length body) read from ``sock``."""
    def more() -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    received = b""
    while b"\r\n\r\n" not in received:
        received += more()
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += more()
    return head + b"\r\n\r\n" + body


def test_a_whole_request_after_a_trickled_one_is_answered(slow_limits_server):
    """The deadline cuts off only a connection whose headers stall: a request whose
    headers arrive in two pieces within the deadline is answered, and so is a whole one
    sent on the same connection after the first one's deadline would have passed."""
    with socket.create_connection(("127.0.0.1", slow_limits_server)) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        time.sleep(0.3)
        sock.sendall(b"Host: x\r\n\r\n")
        first = _response(sock)
        time.sleep(1.5)  # past the 1-second deadline, within the keep-alive time
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        second = _response(sock)
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    assert json.loads(second.partition(b"\r\n\r\n")[2])["status"] == "ok"


def test_the_http_parser_is_chosen_by_name():
    from seqlab.errors import ConfigError
    from seqlab.serving.protocol import GuardedH11Protocol, http_protocol
    from seqlab.serving.protocol_httptools import GuardedHttpToolsProtocol

    assert http_protocol("h11") is GuardedH11Protocol
    assert http_protocol("httptools") is GuardedHttpToolsProtocol
    assert http_protocol("auto") is GuardedHttpToolsProtocol  # installed with seqlab[serve]
    with pytest.raises(ConfigError, match="not one of: auto, httptools, h11"):
        http_protocol("h2")


def test_without_httptools_auto_falls_back_to_h11(monkeypatch):
    import importlib.util

    from seqlab.errors import ConfigError
    from seqlab.serving import protocol

    real = importlib.util.find_spec
    monkeypatch.setattr(protocol.importlib.util, "find_spec",
                        lambda name, *a: None if name == "httptools" else real(name, *a))
    assert protocol.http_protocol("auto") is protocol.GuardedH11Protocol
    with pytest.raises(ConfigError, match="pip install httptools"):
        protocol.http_protocol("httptools")


def test_the_model_predicts_once_before_the_first_request_and_a_failure_is_served():
    class Counting(StubClassifier):
        def __init__(self):
            super().__init__()
            self.calls: list[list[str]] = []

        def predict_proba(self, texts):
            self.calls.append(list(texts))
            return np.full((len(texts), 2), 0.5)

    counting = Counting()
    app = served(classify_routes.mount, predictor=counting, facts={},
                 settings=ServeSettings(model="stub"))
    assert counting.calls == [["warm up"]]  # before any request
    assert TestClient(app).post("/predict", json={"text": "hi"}).status_code == 200
    # a model whose warm-up fails is still served; its requests get the JSON error
    failing = served(classify_routes.mount, predictor=StubClassifier(), facts={},
                     settings=ServeSettings(model="stub"))
    response = TestClient(failing, raise_server_exceptions=False).post(
        "/predict", json={"text": "hi"})
    assert response.status_code == 500 and "RuntimeError" in response.json()["error"]

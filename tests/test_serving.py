"""The real server on 127.0.0.1: answers, limits, malformed bodies, concurrency, the page."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from seqlab.config import apply_overrides
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.estimators import load_classifier
from seqlab.tasks.classify.workflow import train_run

from conftest import SAMPLE, TINY, running_server

pytest.importorskip("fastapi", reason="the serve extra is not installed")

LIMITS = {"max_texts": 5, "max_chars": 200, "max_body_bytes": 4000}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve")
    config = apply_overrides(RunConfig(), {
        "name": "served", "output_dir": str(out), "data.train": str(SAMPLE),
        "model.embedding_dim": TINY["embedding_dim"], "model.hidden_size": TINY["hidden_size"],
        "training.max_epochs": 3, "training.threads": 1})
    return train_run(config).run_dir


@pytest.fixture(scope="module")
def server(run_dir):
    with running_server(run_dir, "--threads", "1",
                        *(f"--{k.replace('_', '-')}={v}" for k, v in LIMITS.items())) as url:
        yield url


def post(url, body=None, content=None):
    return httpx.post(f"{url}/predict", json=body, content=content,
                      headers={"content-type": "application/json"}, timeout=30)


def test_predictions_equal_the_library(server, run_dir):
    clf = load_classifier(run_dir)
    texts = ["i feel so happy", "i am terrified", ""]
    response = post(server, {"texts": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["model"]["name"] == "served" and len(body["model"]["version"]) == 12
    expected = clf.predict_proba(texts)
    for prediction, row in zip(body["predictions"], expected, strict=True):
        assert prediction["label"] == clf.labels_[row.argmax()]
        got = [prediction["probabilities"][label] for label in clf.labels_]
        np.testing.assert_allclose(got, row, atol=1e-6)
    single = post(server, {"text": "i feel so happy"}).json()["predictions"][0]
    assert single["label"] == body["predictions"][0]["label"]
    assert single["probabilities"] == pytest.approx(body["predictions"][0]["probabilities"],
                                                    abs=1e-6)


@pytest.mark.parametrize(("body", "content", "status", "fragment"), [
    ({"texts": ["a"] * 6}, None, 413, "limit is 5"),
    ({"text": "x" * 201}, None, 413, "limit is 200"),
    (None, b'{"text": "' + b"y" * 5000 + b'"}', 413, "over 4000 bytes"),
    (None, b'{"texts": ["unclosed', 422, "not valid JSON"),
    ({"texts": ["ok", 3]}, None, 422, "texts.1"),
    ({"texts": "not a list"}, None, 422, "texts"),
    ({}, None, 422, "exactly one of"),
    ({"text": "a", "extra": 1}, None, 422, "extra"),
])
def test_limits_and_malformed_bodies(server, body, content, status, fragment):
    response = post(server, body, content)
    assert response.status_code == status
    assert fragment in response.json()["error"]
    assert httpx.get(f"{server}/health").json()["status"] == "ok"


def test_concurrent_requests_all_get_their_own_answers(server, run_dir):
    clf = load_classifier(run_dir)
    texts = [line.rsplit(";", 1)[0] for line in SAMPLE.read_text().splitlines()[:64]]
    expected = clf.predict(texts)

    def ask(i):
        return post(server, {"text": texts[i]})

    with ThreadPoolExecutor(max_workers=32) as pool:
        responses = list(pool.map(ask, range(len(texts))))
    assert all(r.status_code == 200 for r in responses)
    assert [r.json()["predictions"][0]["label"] for r in responses] == list(expected)


def test_model_docs_and_page(server):
    info = httpx.get(f"{server}/model").json()
    assert info["labels"] == ["anger", "fear", "joy", "love", "sadness", "surprise"]
    assert info["limits"]["max_texts"] == 5 and "accuracy" in info["metrics"]["test"]
    assert httpx.get(f"{server}/docs").status_code == 200
    assert "/predict" in httpx.get(f"{server}/openapi.json").json()["paths"]
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and "Try the model" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN: offline


def test_page_in_headless_chromium(server, run_dir):
    """Type a sentence, ask for highlighting, submit; read the label shown and the
    highlighted words; keep a screenshot in the run folder."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api",
                                     reason="playwright is not installed (pip install playwright)")
    text = "i feel so happy and grateful today"
    expected = load_classifier(run_dir).predict([text])[0]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(f"{server}/")
        page.fill("#input", text)
        page.check("#explain")
        page.click("#go")
        page.wait_for_selector(".prediction", timeout=20_000)
        shown = page.inner_text(".prediction")
        marked = page.eval_on_selector_all(
            ".why mark", "marks => marks.map(m => [m.textContent, m.title])")
        shown_text = page.inner_text(".why")
        page.screenshot(path=str(Path(run_dir) / "page.png"), full_page=True)
        browser.close()
    assert shown == expected
    assert shown_text.strip() == text  # the highlighted text is the text, whole
    assert [word for word, _ in marked] == text.split()
    assert all(title[0] in "+-" for _, title in marked)
    assert (Path(run_dir) / "page.png").stat().st_size > 1000


def explain_post(url, body):
    return httpx.post(f"{url}/explain", json=body, timeout=60)


def test_explain_route_equals_the_library(server, run_dir):
    from seqlab.tasks.classify.explain import explain

    clf = load_classifier(run_dir)
    text = "i feel so happy and grateful today"
    response = explain_post(server, {"text": text, "steps": 20})
    assert response.status_code == 200
    got = response.json()["explanations"][0]
    expected = explain(clf, text, steps=20)
    assert got["label"] == expected.target and got["method"] == "ig"
    assert [t["token"] for t in got["tokens"]] == [t.token for t in expected.tokens]
    np.testing.assert_allclose([t["attribution"] for t in got["tokens"]],
                               [t.attribution for t in expected.tokens], atol=1e-5)
    for t in got["tokens"]:
        assert text[t["start"]:t["end"]] == t["token"]


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"text": "i feel", "steps": 10_000}, 422, "cap is 200"),
    ({"text": "i feel", "steps": 0}, 422, "steps"),
    ({"text": "i feel", "label": "hunger"}, 422, "anger, fear, joy"),
    ({"text": "i feel", "method": "magic"}, 422, "unknown explanation method"),
    ({"text": "i feel", "method": "weights"}, 422, "does not apply"),
    ({"texts": ["a"] * 17}, 413, "limit is 16"),
    ({"text": "x" * 201}, 413, "limit is 200"),
])
def test_explain_refusals(server, body, status, fragment):
    response = explain_post(server, body)
    assert response.status_code == status
    assert fragment in response.json()["error"]

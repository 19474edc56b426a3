"""The studio's API through FastAPI's test client, over the demo rendered small: every action, every validation
error, the lock interplay, path traversal refused."""
from __future__ import annotations

import html
import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from director.project import Project
from tests.conftest import ROOT, director, make_project

pytest.importorskip("fastapi")
pytest.importorskip("ruamel.yaml")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("studio"), ROOT / "projects/demo", size=(108, 192))
    director("-p", str(project), "render", check=True)
    return project


@pytest.fixture()
def client(demo):
    from fastapi.testclient import TestClient

    from director.studio.app import create_app

    app = create_app(Project.find(demo))
    with TestClient(app, base_url="http://localhost") as c:
        c.headers["X-CSRF-Token"] = app.state.csrf
        c.app_state = app.state
        yield c


def _card(client, shot: str) -> dict:
    board = client.get("/api/e/screenplay/board").json()
    return next(c for c in board["shots"] if c["id"] == shot)


def test_the_board_shows_every_shot_with_its_picture_clip_lines_and_state(client):
    board = client.get("/api/e/screenplay/board").json()
    assert [c["index"] for c in board["shots"]] == [1, 2, 3, 4, 5, 6]
    assert all(c["state"] == "cached" and c["image"].startswith("/media/") and c["clip"] for c in board["shots"])
    talking = next(c for c in board["shots"] if c["id"] == "handoff-02")
    assert talking["talking"] == ["ren"] and talking["sync"]["ren"]["correlation"] > 0.6
    assert any(l["kind"] == "line" and l["text"] == "You're late." for l in talking["lines"])
    assert board["video"] == "/media/out/screenplay/episode.mp4"
    page = client.get("/e/screenplay")
    assert page.status_code == 200 and page.text.count("class='card ") == 6
    assert client.get(talking["image"]).headers["content-type"] == "image/png"
    assert client.get(board["video"]).headers["content-type"] == "video/mp4"
    vtt = client.get("/e/screenplay/subtitles.vtt")
    assert vtt.text.startswith("WEBVTT") and "-->" in vtt.text and "," not in vtt.text.split("-->")[0][-6:]
    assert "OPENAI" not in page.text and "token" not in page.text.lower().replace("csrf", "")


def test_edits_lock_and_regenerate_through_the_same_library_as_the_cli(client, demo):
    shots = demo / "shots" / "screenplay.yaml"
    shots.write_text(shots.read_text().replace("shots:\n", "shots:  # reviewed by Ana\n", 1))
    assert client.post("/api/e/screenplay/shots/handoff-02/lock", json={"locked": True}).json()["shot"]["locked"]
    assert _card(client, "handoff-02")["locked"]
    assert not client.post("/api/e/screenplay/shots/handoff-02/lock", json={"locked": False}).json()["shot"]["locked"]
    moved = client.post("/api/e/screenplay/shots/handoff-02", json={"move": "dolly-in"})
    assert moved.status_code == 200 and moved.json()["shot"]["move"] == "dolly-in"
    card = _card(client, "handoff-02")
    assert card["state"] == "stale" and "camera move changed" in card["why"]
    assert "# reviewed by Ana" in shots.read_text()  # the user's comment survives the edit
    first = card["seed"]
    regen = client.post("/api/e/screenplay/shots/handoff-02/regen", json={}).json()
    assert regen["take"] == 2 and regen["seed"] != first
    assert [t["take"] for t in client.get("/api/e/screenplay/shots/handoff-02/takes").json()["takes"]] == [1, 2]
    # each take shows its own keyframe where one is cached: take 1's from the last render, take 2 not made yet
    one, two = _card(client, "handoff-02")["takes"]
    assert one["image"] == card["image"] and two["image"] is None and two["current"], (one, two)
    assert client.get(one["image"]).headers["content-type"] == "image/png"
    assert f"<img src='{one['image']}'" in client.get("/e/screenplay/cards").text
    assert client.post("/api/e/screenplay/shots/handoff-02/takes/1").json()["seed"] == first
    client.post("/api/e/screenplay/shots/handoff-02", json={"move": "static"})
    assert _card(client, "handoff-02")["state"] == "cached"  # take 1 is back: nothing to render
    # the CLI sees and does the same
    listed = director("-p", str(demo), "--json", "take", "list", "handoff-02", check=True).stdout
    assert '"take": 2' in listed and '"current": true' in listed


@pytest.mark.parametrize("body,status,words", [
    ({"size": "HUGE"}, 422, "size"),
    ({"duration": "99"}, 422, "duration"),
    ({"duration": "long"}, 400, "a number of seconds"),
    ({"characters": "mia,ghost"}, 422, "ghost"),
    ({"lens": "35mm"}, 400, "cannot be set"),
    ({"move": "barrel-roll"}, 422, "move"),
    ({"prompt": "  "}, 400, "prompt is empty"),
])
def test_a_bad_edit_is_refused_with_the_hand_edit_message_and_changes_nothing(client, demo, body, status, words):
    shots = demo / "shots" / "screenplay.yaml"
    before = shots.read_text()
    answer = client.post("/api/e/screenplay/shots/arrival-01", json=body)
    assert answer.status_code == status, answer.text
    text = answer.text
    assert words in text
    if status == 422:  # located in the user's file, as validate would say it
        assert "screenplay.yaml:" in answer.json()["problems"][0] and "-edit" not in text
    assert shots.read_text() == before


def test_a_line_is_edited_in_the_screenplay_and_validated(client, demo):
    sp = demo / "screenplay.yaml"
    before = sp.read_text()
    done = client.post("/api/e/screenplay/lines/handoff/2", json={"text": "You are late.", "emotion": "angry"})
    assert done.status_code == 200 and done.json()["who"] == "ren"
    assert "You are late." in sp.read_text() and "angry" in sp.read_text()
    card = _card(client, "handoff-02")
    assert card["state"] == "stale" and "line text changed" in card["why"]
    assert client.post("/api/e/screenplay/lines/handoff/2", json={"text": "  "}).status_code == 400
    assert client.post("/api/e/screenplay/lines/handoff/1", json={"text": "x"}).status_code == 400  # an action
    assert client.post("/api/e/screenplay/lines/nowhere/9", json={"text": "x"}).status_code == 400
    # a line's words are not its beats: the shot list (and the reviewer's edits in it) stays the plan
    assert client.get("/api/e/screenplay/board").json()["notes"] == []
    client.post("/api/e/screenplay/lines/handoff/2", json={"text": "You're late.", "emotion": "cold"})
    assert sp.read_text() == before  # the file as it was, comments and layout included


def test_an_edit_against_what_the_page_showed_is_refused_where_the_file_changed_since(client, demo):
    """The studio audit: a beat inserted above a line on disk moved another character's line to its ref, and the
    open page's edit replaced that line; of two tabs, the last save won without a word. Each edit carries what the
    page showed, and one made against something changed since is a 409 that changes nothing."""
    sp = demo / "screenplay.yaml"
    before = sp.read_text()
    scene = next(sc for sc in yaml.safe_load(before)["scenes"] if sc["id"] == "handoff")
    now = scene["beats"][1]["line"]  # what handoff/2 says
    stale = client.post("/api/e/screenplay/lines/handoff/2", json={"text": "Mine now.", "was": "Something else."})
    assert stale.status_code == 409 and stale.json()["conflict"] and now["text"][:20] in stale.json()["error"]
    assert sp.read_text() == before
    fine = client.post("/api/e/screenplay/lines/handoff/2", json={"text": "Mine now.", "was": now["text"]})
    assert fine.status_code == 200 and "Mine now." in sp.read_text()
    client.post("/api/e/screenplay/lines/handoff/2", json={"text": now["text"]})
    assert sp.read_text() == before

    shot = _card(client, "handoff-02")
    shots_before = (demo / "shots/screenplay.yaml").read_text()
    other = "CU" if shot["size"] != "CU" else "MS"
    refused = client.post("/api/e/screenplay/shots/handoff-02",
                          json={"size": other, "was": {"size": "ECU" if shot["size"] != "ECU" else "WS"}})
    assert refused.status_code == 409 and "size changed" in refused.json()["error"]
    refused = client.post("/api/e/screenplay/shots/handoff-02",
                          json={"prompt": "mine", "was": {"prompt": shot["prompt"] + " and more"}})
    assert refused.status_code == 409
    assert (demo / "shots/screenplay.yaml").read_text() == shots_before
    done = client.post("/api/e/screenplay/shots/handoff-02",
                       json={"size": other, "was": {"size": shot["size"], "duration": str(shot["duration"])}})
    assert done.status_code == 200 and done.json()["shot"]["size"] == other
    client.post("/api/e/screenplay/shots/handoff-02", json={"size": shot["size"]})


def test_state_changes_need_the_csrf_token_and_a_remote_studio_needs_its_token(demo):
    from fastapi.testclient import TestClient

    from director.studio.app import create_app

    app = create_app(Project.find(demo))
    with TestClient(app, base_url="http://localhost") as c:
        assert c.post("/api/e/screenplay/shots/arrival-01/lock", json={}).status_code == 403
        assert c.get("/api/e/screenplay/board").status_code == 200
        ok = {"X-CSRF-Token": app.state.csrf}
        # DNS rebinding: a page from evil.example re-pointed at 127.0.0.1 carries its own host name
        assert c.get("/api/e/screenplay/board", headers={"Host": "evil.example:8765"}).status_code == 403
        assert c.post("/api/e/screenplay/shots/arrival-01/lock", json={},
                      headers={**ok, "Origin": "http://evil.example"}).status_code == 403
        assert c.post("/api/e/screenplay/shots/arrival-01/lock", json={"locked": False},
                      headers={**ok, "Host": "127.0.0.1:8765", "Origin": "http://127.0.0.1:8765"}).status_code == 200
        assert c.post("/api/render/cancel", headers={"X-CSRF-Token": "\u00e9".encode("latin-1")}).status_code == 403  # not a 500
        assert c.get("/api/e/screenplay/board", headers={"Host": "localhost:80@evil.example"}).status_code == 403
        # a body is a few hundred bytes: a huge one is refused before it is read (memory), chunked ones as read
        big = b'{"prompt": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        shot = "/api/e/screenplay/shots/arrival-01"
        assert c.post(shot, content=big, headers=ok).status_code == 413
        chunked = c.post(shot, content=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]), headers=ok)
        assert chunked.status_code == 400 and "over" in chunked.json()["error"]
    with TestClient(create_app(Project.find(demo), token="s3cret")) as c:
        assert c.get("/api/e/screenplay/board").status_code == 401
        assert c.get("/api/e/screenplay/board?token=wrong").status_code == 401
        assert c.get("/e/screenplay?token=s3cret").status_code == 200
        assert c.get("/api/e/screenplay/board").status_code == 200  # the cookie carries it from then on
    with TestClient(create_app(Project.find(demo), token="s3cret"), base_url="http://127.0.0.1:8765") as c:
        # named by the port: two studios opened in one browser replaced each other's token (cookies ignore ports)
        assert "director_token_8765=" in c.get("/e/screenplay?token=s3cret").headers["set-cookie"]
        c.cookies.clear()
        c.cookies.set("director_token_8766", "s3cret")
        assert c.get("/api/e/screenplay/board").status_code == 401


@pytest.mark.parametrize("path", ["/media/../director.yaml", "/media/%2e%2e/%2e%2e/etc/passwd",
                                  "/media/..%2F..%2F..%2Fetc%2Fpasswd", "/media/director.yaml",
                                  "/media/.director/lock", "/media//etc/passwd", "/static/..%2Fapp.py"])
def test_media_routes_serve_only_media_inside_the_project(client, path):
    answer = client.get(path)
    assert answer.status_code == 404, (path, answer.status_code)
    assert "root:" not in answer.text and "project" not in answer.text.split("error")[0]


def test_the_pages_have_an_icon_and_the_browser_s_own_request_for_one_is_answered(client):
    page = client.get("/e/screenplay").text
    icon = re.search(r"<link rel=icon href='([^']+)'>", page).group(1)
    for path in (icon, "/favicon.ico"):  # a page names its icon; a media file opened on its own asks for this
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
        assert answer.text.startswith("<svg")


def test_a_link_out_of_the_project_is_refused(client, demo, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    link = demo / "out" / "leak.png"
    os.symlink(secret, link)
    try:
        assert client.get("/media/out/leak.png").status_code == 404
    finally:
        link.unlink()


def _wait(client, states, seconds=120.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get("/api/render").json()
        if state["state"] in states:
            return state
        time.sleep(0.2)
    raise AssertionError(f"render state stayed {state}")


def test_a_render_waits_for_a_cli_render_holding_the_lock_then_runs(client, demo):
    from director.store.lock import ProjectLock

    client.post("/api/e/screenplay/shots/handoff-03", json={"move": "pan-left"})
    with ProjectLock(Project.find(demo).state, "render"):
        assert client.post("/api/e/screenplay/render", json={"shots": ["handoff-03"]}).json()["state"] == "waiting"
        time.sleep(1.5)
        state = client.get("/api/render").json()
        assert state["state"] == "waiting" and state["lock"]["pid"] == os.getpid()
        assert client.post("/api/e/screenplay/render", json={}).status_code == 409  # one at a time
    assert _wait(client, ("done", "failed"))["state"] == "done"
    worker = client.app_state.worker
    kinds = [e["kind"] for e in worker.events]
    assert kinds.index("waiting") < kinds.index("started") < kinds.index("finished")
    assert any(e["kind"] == "job" and e["job"] == "handoff-03" and e["stage"] == "clips" for e in worker.events)
    # the stream's reader: every event numbered in order (a job's shot id once replaced the number, and the
    # comparison in ``since`` failed for every page following the render)
    ids = [e["id"] for e in worker.since(0)]
    assert ids == sorted(ids) and all(isinstance(i, int) for i in ids) and len(ids) == len(worker.events)
    assert [e["id"] for e in worker.since(ids[2])] == ids[3:]
    assert _card(client, "handoff-03")["state"] == "cached"


def test_a_render_that_loses_the_race_for_the_lock_waits_and_runs(client, demo, monkeypatch):
    """The lock was free when the studio looked and taken (render --watch) before its child render got it: the
    render failed with "locked". Now the studio waits for that holder and runs its render after it."""
    import threading

    from director.store.lock import ProjectLock
    from director.studio import worker as worker_module

    real, looks = worker_module.lock_holder, []

    def first_look_misses(state_dir):  # the moment between the look and the child's own lock
        looks.append(1)
        return None if len(looks) == 1 else real(state_dir)

    monkeypatch.setattr(worker_module, "lock_holder", first_look_misses)
    held, release = threading.Event(), threading.Event()

    def hold():
        with ProjectLock(Project.find(demo).state, "render"):
            held.set()
            release.wait(20)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        client.post("/api/e/screenplay/shots/handoff-02", json={"move": "pan-left"})
        client.post("/api/e/screenplay/render", json={"shots": ["handoff-02"]})
        deadline = time.time() + 60
        while time.time() < deadline and "waiting" not in [e["kind"] for e in client.app_state.worker.events[-5:]]:
            time.sleep(0.2)
    finally:
        release.set()
        holder.join()
    state = _wait(client, ("done", "failed"))
    assert state["state"] == "done", state
    assert "render" not in state["failed"]


def test_a_running_render_is_cancelled_and_keeps_what_it_finished(client, demo):
    client.post("/api/e/screenplay/shots/arrival-01", json={"move": "tilt-up"})
    client.post("/api/e/screenplay/shots/handoff-04", json={"move": "pan-right"})
    assert client.post("/api/render/cancel").json()["cancelled"] is False  # nothing to cancel
    client.post("/api/e/screenplay/render", json={})
    _wait(client, ("running",), 30)
    assert client.post("/api/render/cancel").json()["cancelled"] is True
    assert _wait(client, ("cancelled", "done", "failed"))["state"] in ("cancelled", "done")
    assert client.app_state.worker.events[-1]["kind"] == "finished"
    from director.store.lock import ProjectLock
    with ProjectLock(Project.find(demo).state, "render"):  # the child let go of the project lock
        pass


def test_a_generated_reference_sheet_is_locked_and_unlocked(client, demo):
    board = client.get("/api/e/screenplay/board").json()
    assert {r["id"] for r in board["refs"]} >= {"ren"} and not next(r for r in board["refs"] if r["id"] == "ren")["locked"]
    assert client.post("/api/refs/ren/lock").json()["locked"] == "refs/sheets/character-ren.png"
    assert next(r for r in client.get("/api/e/screenplay/board").json()["refs"] if r["id"] == "ren")["locked"]
    assert client.post("/api/refs/ren/unlock").status_code == 200
    assert not (demo / "refs" / "sheets" / "character-ren.png").exists()
    assert client.post("/api/refs/ren/unlock").status_code == 400
    page = client.get("/e/screenplay/refs")
    assert page.status_code == 200
    # a character with a picture of its own in the screenplay is shown too (it was missing), with no lock
    mia = next(r for r in client.get("/api/e/screenplay/board").json()["refs"] if r["id"] == "mia")
    assert mia["own"] and mia["image"] == "/media/refs/mia.png" and "the screenplay's picture" in html.unescape(page.text)
    assert client.get(mia["image"]).status_code == 200


def test_the_event_stream_carries_a_render_to_its_end_over_http(demo):
    """What the page's EventSource reads, from a real server: each job's event while the render runs, numbered in
    order, then ``finished``. A job's shot id once replaced the event's number: the stream died at the first job."""
    import http.client
    import socket
    import threading

    import uvicorn

    from director.studio.app import create_app

    app = create_app(Project.find(demo))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        post = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for path, body in (("/api/e/screenplay/shots/arrival-02", {"move": "dolly-out"}),
                           ("/api/e/screenplay/render", {})):
            post.request("POST", path, body=json.dumps(body),
                         headers={"Content-Type": "application/json", "X-CSRF-Token": app.state.csrf})
            answer = post.getresponse()
            assert answer.status == 200, (path, answer.read())
            answer.read()
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        stream.request("GET", "/api/events")
        answer = stream.getresponse()
        assert answer.status == 200 and answer.getheader("content-type").startswith("text/event-stream")
        events, fields = [], {}
        while not events or events[-1]["event"] != "finished":
            line = answer.readline().decode()
            assert line, f"the stream ended after {[e['event'] for e in events]}"
            if line.strip() == "":
                if "event" in fields:
                    events.append({**fields, "data": json.loads(fields["data"])})
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.rstrip("\n").partition(": ")
                fields[name] = value
        stream.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(set(ids)), ids
    jobs = [e["data"] for e in events if e["event"] == "job"]
    assert any(j["job"] == "arrival-02" and j["stage"] == "clips" for j in jobs), [e["event"] for e in events]
    assert events[-1]["data"]["state"] == "done"


@pytest.mark.parametrize("path, payload", [
    ("/api/e/screenplay/shots/handoff-03", b"[" * 5000 + b"]" * 5000),  # nested past the parser's depth
    ("/api/e/screenplay/shots/handoff-03", b"[1, 2]"),
    ("/api/e/screenplay/shots/handoff-03", b"{not json"),
    ("/api/e/screenplay/shots/handoff-03", json.dumps({"duration": {"a": 1}}).encode()),
    ("/api/e/screenplay/shots/handoff-03", json.dumps({"seed": True}).encode()),
    ("/api/e/screenplay/shots/handoff-03", json.dumps({"prompt": 7}).encode()),
    ("/api/e/screenplay/shots/handoff-03", json.dumps({"characters": [1, 2]}).encode()),
    ("/api/e/screenplay/lines/handoff/2", json.dumps({"text": {"x": 1}}).encode()),
    ("/api/e/screenplay/lines/handoff/2", json.dumps({"emotion": ["angry"]}).encode()),
    ("/api/e/screenplay/shots/handoff-03/regen", json.dumps({"seed": {"x": 1}}).encode()),
    ("/api/e/screenplay/shots/handoff-03/regen", json.dumps({"seed": "³"}).encode()),
    ("/api/e/screenplay/render", json.dumps({"shots": True}).encode()),
    ("/api/e/screenplay/render", b"{broken"),  # once read as {}: a render of every shot
])
def test_a_malformed_body_is_a_400_and_changes_nothing(client, demo, path, payload):
    """Each of these was a 500 with a traceback in the server's log (wrong JSON types reached the YAML editor)."""
    shots = (demo / "shots" / "screenplay.yaml").read_bytes()
    screenplay = (demo / "screenplay.yaml").read_bytes()
    answer = client.post(path, content=payload, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, (answer.status_code, answer.text)
    assert "error" in answer.json()
    assert (demo / "shots" / "screenplay.yaml").read_bytes() == shots
    assert (demo / "screenplay.yaml").read_bytes() == screenplay
    assert client.app_state.worker.state not in ("waiting", "running")  # no render was started


@pytest.mark.parametrize("page", ["/e/nope/cards", "/e/nope/player", "/e/nope/refs", "/e/nope/subtitles.vtt",
                                  "/api/e/nope/shots/x/takes"])
def test_an_unknown_episode_is_a_400_on_every_page(client, page):
    answer = client.get(page)
    assert answer.status_code == 400 and "no episode &#x27;nope&#x27;" in answer.text.replace("'", "&#x27;"), \
        (answer.status_code, answer.text)
    if page in ("/e/nope/player", "/e/nope/refs"):  # a page a person opens: the studio's error page, not JSON
        assert answer.headers["content-type"].startswith("text/html") and "back to the studio" in answer.text



def test_pages_refuse_frames_and_the_test_client_s_host_name(client):
    page = client.get("/e/screenplay")
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "Content-Security-Policy"]
    assert client.get("/e/screenplay", headers={"Host": "testserver"}).status_code == 403  # no name of the tests'


def test_lock_reads_false_as_false(client):
    assert client.post("/api/e/screenplay/shots/arrival-01/lock", json={"locked": "false"}).json()["shot"][
        "locked"] is False
    assert client.post("/api/e/screenplay/shots/arrival-01/lock", json={"locked": True}).json()["shot"]["locked"]
    assert client.post("/api/e/screenplay/shots/arrival-01/lock", json={"locked": False}).json()["shot"][
        "locked"] is False


def test_subtitles_with_arrows_and_markup_stay_text_in_webvtt():
    from director.studio.app import vtt

    out = vtt("1\n00:00:01,000 --> 00:00:02,500\nWait, 1 --> 2, no. <3 & you\n")
    assert "00:00:01.000 --> 00:00:02.500" in out
    assert "Wait, 1 -> 2, no. &lt;3 &amp; you" in out


def test_a_dead_holder_s_pid_in_the_lock_file_is_not_a_holder(demo):
    """kill -9 leaves the lock file's pid; once another process has that pid, the studio waited for it forever.
    The flock says whether anyone holds the lock."""
    from director.store.lock import ProjectLock
    from director.store.lock import lock_holder

    state = Project.find(demo).state
    with ProjectLock(state, "render"):
        assert lock_holder(state)["pid"] == os.getpid()
    (state / "lock").write_text(json.dumps({"pid": os.getpid(), "argv": "render"}))  # alive, holds nothing
    assert lock_holder(state) is None


def test_the_cards_refresh_carries_the_notes_and_a_new_project_is_said_to_be_unplanned(client, tmp_path):
    """The board's notes stayed as the page opened (a new project said "will be re-planned ... (screenplay
    changed)" after the render had planned it, and nothing had changed)."""
    from fastapi.testclient import TestClient

    from director.studio.app import create_app

    cards = client.get("/e/screenplay/cards")
    assert cards.status_code == 200 and cards.text.startswith("<div id=notes>")
    fresh = make_project(tmp_path, ROOT / "projects/demo", size=(108, 192))
    with TestClient(create_app(Project.find(fresh)), base_url="http://localhost") as other:
        page = other.get("/e/screenplay").text
    assert "the next render plans the shot list (there is none yet)" in page and "screenplay changed" not in page


def test_an_episode_named_by_its_id_is_found_by_that_name(tmp_path):
    """An episode file starting `id: pilot` was linked as /e/pilot, and every page, edit and render there answered
    "no episode 'pilot'"; `-e pilot` failed the same way."""
    import shutil

    from fastapi.testclient import TestClient

    from director.studio.app import create_app
    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    ep01 = project / "episodes" / "ep01.yaml"
    ep01.write_text("id: pilot\n" + ep01.read_text(encoding="utf-8"), encoding="utf-8")
    (project / "shots" / "ep01.yaml").unlink(missing_ok=True)
    director("-p", str(project), "plan", "-e", "pilot", check=True)
    app = create_app(Project.find(project))
    with TestClient(app, base_url="http://localhost") as client:
        client.headers["X-CSRF-Token"] = app.state.csrf
        for page in ("/e/pilot", "/e/pilot/player", "/api/e/pilot/stamp", "/api/e/ep01/stamp"):
            assert client.get(page).status_code == 200, page
        shot = client.get("/api/e/pilot/board").json()["shots"][0]["id"]
        assert client.post(f"/api/e/pilot/shots/{shot}", json={"size": "CU"}).status_code == 200
    status = json.loads(director("-p", str(project), "--json", "status", "-e", "pilot", check=True).stdout)
    assert status["episode"] == "pilot"


def test_the_episode_is_asked_for_again_after_a_render(client, demo):
    """The player's episode has one URL across renders; served with Last-Modified alone, the browser played the old
    cut for a while after a render (10% of the file's age)."""
    answer = client.get("/media/out/screenplay/episode.mp4")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"


def test_an_edited_shot_keeps_showing_its_last_render_until_it_is_made_again(client, demo):
    """The studio audit: one size change turned the card into a black "not rendered" box; the director lost sight
    of the shot being changed. Its last render shows, marked, until the shot is made again."""
    before = _card(client, "arrival-02")
    assert not before["earlier"] and before["image"] and before["clip"]
    size = "ECU" if before["size"] != "ECU" else "WS"
    assert client.post("/api/e/screenplay/shots/arrival-02", json={"size": size}).status_code == 200
    after = _card(client, "arrival-02")
    assert after["state"] == "stale" and after["earlier"], after
    assert after["image"] == before["image"] and after["clip"] == before["clip"]
    assert "last render" in client.get("/e/screenplay/cards").text
    assert client.get(after["image"]).status_code == 200
    client.post("/api/e/screenplay/shots/arrival-02", json={"size": before["size"]})
    assert not _card(client, "arrival-02")["earlier"]


def test_a_changed_director_yaml_is_read_again_and_a_broken_one_is_said(tmp_path):
    """The studio kept the settings it started with: an episode added to `episodes:` was "no episode" in the studio
    while the CLI saw it."""
    import shutil

    from fastapi.testclient import TestClient

    from director.studio.app import create_app

    project = make_project(tmp_path, ROOT / "projects/demo", size=(108, 192))
    app = create_app(Project.find(project))
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get("/e/ep2").status_code == 400
        shutil.copy(project / "screenplay.yaml", project / "ep2.yaml")
        config = project / "director.yaml"
        config.write_text(config.read_text().replace("episodes: [screenplay.yaml]", "episodes: [screenplay.yaml, ep2.yaml]"))
        assert c.get("/e/ep2").status_code == 200
        assert c.get("/api/e/screenplay/board").json()["episodes"] == ["screenplay", "ep2"]
        config.write_text(config.read_text() + "profile: [broken\n")
        notes = c.get("/api/e/screenplay/board").json()["notes"]
        assert notes and "director.yaml" in notes[0] and "keeps the settings" in notes[0], notes


def test_a_size_set_by_hand_rewrites_the_framing_the_prompt_opens_with(client, demo):
    """CU set on a shot left "Medium close-up, eye-level. ..." at the head of its prompt: the final profile's model
    was told both."""
    from director.plan.rules import SIZE_WORDS

    shot = _card(client, "handoff-02")
    opening = f"{SIZE_WORDS[shot['size']]}, {shot['angle']}."
    assert shot["prompt"].startswith(opening), shot["prompt"]
    rest = shot["prompt"][len(opening):]
    other = "ECU" if shot["size"] != "ECU" else "WS"
    done = client.post("/api/e/screenplay/shots/handoff-02", json={"size": other, "angle": "low"}).json()["shot"]
    assert done["prompt"] == ("Extreme close-up" if other == "ECU" else "Wide shot") + ", low." + rest, done["prompt"]
    client.post("/api/e/screenplay/shots/handoff-02", json={"size": shot["size"], "angle": shot["angle"]})
    assert _card(client, "handoff-02")["prompt"] == shot["prompt"]


def test_a_cast_set_by_hand_rewrites_whom_the_prompt_describes(client, demo):
    """An audit: characters set on a shot left its prompt describing the old cast (size and angle were followed)."""
    from director.plan.rules import people_of
    from director.screenplay import load_screenplay

    sp = load_screenplay(demo / "screenplay.yaml").screenplay
    shot = _card(client, "handoff-02")
    old = people_of(sp, shot["characters"])
    assert old and old in shot["prompt"], shot["prompt"]
    others = [c for c in sp.characters if c not in shot["characters"]] or list(sp.characters)
    cast = sorted({*shot["characters"], others[0]}) if others[0] not in shot["characters"] else [others[0]]
    done = client.post("/api/e/screenplay/shots/handoff-02", json={"characters": cast}).json()["shot"]
    assert people_of(sp, cast) in done["prompt"] and done["prompt"] == shot["prompt"].replace(old, people_of(sp, cast))
    # a prompt whose cast words were edited by hand keeps them
    client.post("/api/e/screenplay/shots/handoff-02", json={"characters": shot["characters"],
                                                             "prompt": shot["prompt"].replace(old, "Two strangers.")})
    done = client.post("/api/e/screenplay/shots/handoff-02", json={"characters": cast}).json()["shot"]
    assert "Two strangers." in done["prompt"], done["prompt"]


def test_a_line_edit_marks_its_own_shot_and_only_says_the_others_may_re_run(client, demo):
    """The studio audit: one line edit turned every other card orange, "must re-run: on timing ..., if that changes
    it" (the first shot too): those wait on the edited shot's timing; nothing of their own changed."""
    sp = demo / "screenplay.yaml"
    before = sp.read_text()
    assert client.post("/api/e/screenplay/lines/handoff/2", json={"text": "You are so very late."}).status_code == 200
    cards = {c["id"]: c for c in client.get("/api/e/screenplay/board").json()["shots"]}
    assert cards["handoff-02"]["state"] == "stale"
    assert {c["state"] for i, c in cards.items() if i != "handoff-02"} <= {"cached", "waits"}, cards
    assert any(c["state"] == "waits" for c in cards.values())
    assert "may re-run" in client.get("/e/screenplay/cards").text
    sp.write_text(before)


def test_the_board_offers_the_emotions_says_its_language_and_a_lock_that_changes_a_length_says_so(client, demo):
    page = client.get("/e/screenplay").text
    assert "<datalist id=emotions>" in page and "<option value='angry'>" in page and "list=emotions" in page
    assert "<html lang='en'>" in page
    assert "render-selected" not in client.get("/e/screenplay/player").text  # no boxes to select there
    shots = client.get("/api/e/screenplay/board").json()["shots"]
    done = [client.post(f"/api/e/screenplay/shots/{s['id']}/lock", json={"locked": True}).json() for s in shots]
    changed = [d for d in done if d["warnings"]]
    for d in changed:  # the studio audit: a lock rewrote 2.7 to 1.8333 without a word
        assert "locked at its length in the episode" in d["warnings"][0]
    for s in shots:
        client.post(f"/api/e/screenplay/shots/{s['id']}/lock", json={"locked": False})
        client.post(f"/api/e/screenplay/shots/{s['id']}", json={"duration": s["duration"]})
    assert changed, "no shot's plan differed from its length in the episode"


def test_review_an_edit_is_not_refused_over_an_empty_prompt_or_a_long_duration_shown_rounded(client, demo):
    """The review: `was` went through the edit's own parsing (an empty prompt shown was refused as a new value, so
    such a shot never got a prompt from the studio) and durations were compared at 1e-6 (12.345649 is shown as
    12.3456: every edit of it was a 409)."""
    shot = _card(client, "handoff-02")
    shots_file = demo / "shots/screenplay.yaml"
    saved = shots_file.read_text()
    data = yaml.safe_load(saved)
    node = next(s for s in data["shots"] if s["id"] == "handoff-02")
    node["prompt"], node["duration"] = "", 12.345649
    shots_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    try:
        done = client.post("/api/e/screenplay/shots/handoff-02", json={"prompt": "a new one", "was": {"prompt": ""}})
        assert done.status_code == 200, done.json()
        done = client.post("/api/e/screenplay/shots/handoff-02", json={"move": "static", "was": {"duration": "12.3456"}})
        assert done.status_code == 200, done.json()
    finally:
        shots_file.write_text(saved)
    assert _card(client, "handoff-02")["prompt"] == shot["prompt"]


def _frames(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as f:
        return [bytes(frame.to_ndarray(format="gray")) for frame in f.decode(video=0)]


def test_a_card_plays_with_the_episode_s_sound_from_where_its_clip_starts(tmp_path):
    """Board previews were silent (a segment has no audio; only the player had it): a card now carries the
    episode's mix and where its clip's first frame is in the episode. The episode is the segments stream-copied,
    so each card's first frame is the episode's frame at that second, exactly, a dissolve included."""
    from fastapi.testclient import TestClient

    from director.studio.app import create_app

    project = make_project(tmp_path, ROOT / "projects/demo", size=(108, 192))
    director("-p", str(project), "plan", check=True)
    shots = project / "shots/screenplay.yaml"
    data = yaml.safe_load(shots.read_text())
    data["shots"][2]["transition"] = "dissolve"  # its segment starts half the dissolve into the shot
    shots.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", check=True)
    app = create_app(Project.find(project))
    with TestClient(app, base_url="http://localhost") as c:
        board = c.get("/api/e/screenplay/board").json()
        episode = _frames(project / "out/screenplay/episode.mp4")
        for card in board["shots"]:
            sound = card["sound"]
            assert sound and sound["src"].startswith("/media/.director/") and sound["src"].endswith(".m4a"), card
            first = _frames(project / card["clip"].removeprefix("/media/"))[0]
            assert episode[round(sound["at"] * 24)] == first, (card["id"], sound["at"])
        starts = [card["start"] for card in board["shots"]]
        assert board["shots"][2]["sound"]["at"] > starts[2]  # the dissolve's half, not the shot's start
        heard = c.get(board["shots"][0]["sound"]["src"])
        assert heard.status_code == 200 and heard.headers["content-type"] == "audio/mp4"
        page = c.get("/e/screenplay/cards").text
        assert page.count("data-sound=") == len(board["shots"]) and "click: with its sound" in page
        # an edited shot shows its last render, with no sound: the mix is not made for it yet
        c.headers["X-CSRF-Token"] = app.state.csrf
        size = "ECU" if board["shots"][1]["size"] != "ECU" else "WS"
        assert c.post(f"/api/e/screenplay/shots/{board['shots'][1]['id']}", json={"size": size}).status_code == 200
        after = c.get("/api/e/screenplay/board").json()["shots"]
        assert after[1]["earlier"] and after[1]["sound"] is None


def test_a_chinese_project_opens_the_studio_in_chinese_and_the_switch_is_remembered(tmp_path):
    """A Chinese studio's editors met an English-only page over a Chinese screenplay: a zh project's studio
    speaks Chinese (its bar, its cards, its script's words); ``?ui=en`` switches and is remembered."""
    from fastapi.testclient import TestClient

    from director.studio.app import create_app

    project = make_project(tmp_path, ROOT / "projects/zh-demo", size=(108, 192))
    director("-p", str(project), "plan", check=True)
    app = create_app(Project.find(project))
    with TestClient(app, base_url="http://localhost") as c:
        page = c.get("/e/screenplay").text
        assert "<html lang='zh-CN'>" in page and ">渲染本集</button>" in page and ">分镜</a>" in page
        assert ">锁定</button>" in page and "第 1 条" in page and "placeholder='情绪'" in page
        assert "<b>旁白</b>" in page and "秒</span>" in page and "aria-label='景别'" in page  # the browser check
        assert "需重新渲染：尚未渲染" in page  # the re-run's reason too (the library's keyed phrases)
        # the shot vocabulary as a crew says it, the value sent (and kept in the shot list) still the code
        assert ">特写 CU</option>" in page and "<option value='dolly-in'" in page and ">推 dolly-in</option>" in page
        assert re.search(r"<option value='(?:ECU|CU|MCU|MS|MWS|WS|EWS)' selected>[\u4e00-\u9fff]+ ", page)
        words = json.loads(page.split("<script id=ui-words type=application/json>")[1].split("</script>")[0])
        assert words["rendering…"] == "渲染中…"
        english = c.get("/e/screenplay?ui=en")
        assert ">Render episode</button>" in english.text and "ui-words" not in english.text
        assert english.cookies.get("director_ui") == "en"
        cards = c.get("/e/screenplay/cards").text
        assert ">Lock</button>" in cards and ">CU</option>" in cards  # the cookie: the cards refresh in English
        assert ">成片</a>" in c.get("/e/screenplay/player?ui=zh").text


def test_every_re_run_reason_has_its_chinese_and_the_longest_phrase_wins():
    """A Chinese board said "需重新渲染：line text changed": each input's keyed reason now reads in Chinese; a reason
    added to the library without its translation would show in English, so every one is checked here."""
    from director.studio.words import REASONS_ZH, tr_reason

    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "director").rglob("*.py"))
    keyed = set(re.findall(r'keyed\("([^"]+)"', source))
    assert keyed and keyed <= set(REASONS_ZH), sorted(keyed - set(REASONS_ZH))
    assert tr_reason("zh", "dialogue timing changed, dialogue changed") == "对白时间已修改，对白已修改"
    assert tr_reason("zh", "on timing one-03, if that changes it").startswith("等待 timing one-03")
    assert tr_reason("en", "line text changed") == "line text changed"


def test_every_shot_size_angle_move_and_transition_has_its_chinese():
    from director.vocab import ANGLES, MOVES, SHOT_WORDS_ZH, SIZES, TRANSITIONS, shot_word

    for field, values in (("size", SIZES), ("angle", ANGLES), ("move", MOVES), ("transition", TRANSITIONS)):
        assert set(SHOT_WORDS_ZH[field]) == set(values), field
        assert all(shot_word(field, word) == code for code, word in SHOT_WORDS_ZH[field].items())  # read back
        assert len(set(SHOT_WORDS_ZH[field].values())) == len(values)  # no word for two codes

"""A small OpenAI-compatible chat-completions server for tests, replaying scripted answers.

It speaks the real protocol over HTTP on 127.0.0.1: ``POST /v1/chat/completions`` with
``response_format`` (json_schema / json_object) and ``tools``; errors as the API sends them.
Scripts are keyed by (agent, scene) -- agent: artist, supervisor or reviewer (the keyframe reviewer,
whose "scene" is the shot id); an empty script gives a default answer. Vision input (image_url parts)
is recorded per request; ``blind=True`` refuses it as a text-only model's server does.

A script step is a dict:
- ``{"json": obj}`` / ``{"text": str}``: a 200 answer whose message content is that JSON / text
  (``finish_reason`` optional);
- ``{"status": code, "message": str}``: an API error body (``error_type``, ``code`` and ``headers``
  optional);
- ``{"body": obj}``: any JSON document sent verbatim as the whole response body (``status`` optional,
  default 200): wrong-shaped answers such as ``{"choices": null}``;
- ``{"raw": str | bytes}``: any bytes as the whole response body (``status``, default 200, and
  ``content_type``, default text/html): not JSON at all;
- ``{"sleep": seconds, ...}``: wait first, then answer the rest of the step (or the default answer).
Every string in a step may contain ``ScriptedLLM.ECHO_KEY``: it is replaced by the API key the request
carried (its ``Authorization: Bearer`` value), like servers that echo the key in errors and answers.
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class ScriptedLLM:
    ECHO_KEY = "<<api-key>>"  # in a script step: replaced by the key the request carried

    def __init__(self, default_answer: Callable[[str, str], dict], reject: tuple[str, ...] = (),
                 reject_status: int = 400, blind: bool = False, reject_message: str | None = None,
                 blind_message: str = "image input is not supported by this model"):
        self.default_answer = default_answer
        self.reject_message = reject_message  # the refusal's own words (else "response_format X is not supported")
        self.blind_message = blind_message
        self.blind = blind  # refuses image input (a model without vision)
        self.reject = reject  # response_format types this server refuses, like many local servers
        self.reject_status = reject_status  # llama-cpp-python's server answers them with a 500
        self.scripts: dict[tuple[str, str], list[dict]] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def script(self, agent: str, scene: str, *responses: dict) -> None:
        self.scripts.setdefault((agent, scene), []).extend(responses)

    def __enter__(self) -> "ScriptedLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, agent: str | None = None) -> list[dict]:
        return [r for r in self.requests if agent is None or r["agent"] == agent]

    def _handler(self):
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
                user = next((m["content"] for m in body["messages"] if m["role"] in ("user", "human")), "")
                images = []
                if isinstance(user, list):  # vision input: text and image_url parts
                    images = [p["image_url"]["url"] for p in user if p.get("type") == "image_url"]
                    user = " ".join(p.get("text", "") for p in user if p.get("type") == "text")
                agent = ("supervisor" if "continuity supervisor" in system else
                         "reviewer" if "continuity reviewer" in system else "artist")
                found = (re.search(r"Scene (\S+?)[ ,(]", user) or re.search(r"Shot (\S+?):", user)
                         or re.search(r"Scene (\S+)", user))
                scene = found.group(1)
                fmt = (body.get("response_format") or {}).get("type")
                with llm.lock:
                    llm.requests.append({"agent": agent, "scene": scene, "format": fmt, "tools": bool(body.get("tools")),
                                         "max_tokens": body.get("max_tokens"),
                                         "max_completion_tokens": body.get("max_completion_tokens"),
                                         "auth": self.headers.get("Authorization", ""), "messages": body["messages"],
                                         "headers": dict(self.headers.items()), "path": self.path,
                                         "images": images, "text": user})
                    if images and llm.blind:  # a text-only server, as llama.cpp without a vision projector answers
                        return self._send(400, {"error": {"message": llm.blind_message,
                                                          "type": "invalid_request_error"}})
                    if fmt in llm.reject:
                        said = llm.reject_message or f"response_format {fmt} is not supported by this server"
                        return self._send(llm.reject_status, {"error": {"message": said,
                                                                        "type": "invalid_request_error"}})
                    queue = llm.scripts.get((agent, scene)) or []
                    step = queue.pop(0) if queue else {"json": llm.default_answer(agent, scene)}
                if "sleep" in step:
                    time.sleep(step["sleep"])
                    step = {k: v for k, v in step.items() if k != "sleep"} or {"json": llm.default_answer(agent, scene)}
                auth = self.headers.get("Authorization", "")
                step = _echo(step, auth[len("Bearer "):] if auth.startswith("Bearer ") else auth)
                if "raw" in step:
                    raw = step["raw"] if isinstance(step["raw"], bytes) else step["raw"].encode()
                    return self._send_bytes(step.get("status", 200), raw, step.get("content_type", "text/html"),
                                            step.get("headers", {}))
                if "body" in step:
                    return self._send(step.get("status", 200), step["body"], step.get("headers", {}))
                if "status" in step:
                    error = {"message": step.get("message", "scripted error"),
                             "type": step.get("error_type", "server_error")}
                    if "code" in step:
                        error["code"] = step["code"]
                    return self._send(step["status"], {"error": error}, step.get("headers", {}))
                content = step["text"] if "text" in step else json.dumps(step["json"])
                finish = step.get("finish_reason", "stop")
                message: dict = {"role": "assistant", "content": content}
                if body.get("tools") and not fmt:
                    name = body["tools"][0]["function"]["name"]
                    message = {"role": "assistant", "content": None, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": content}}]}
                self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                                 "model": body.get("model", "test"),
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}})

            def _send(self, status: int, payload, headers: dict | None = None):
                self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

            def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _echo(step, key: str):
    """The step with every ScriptedLLM.ECHO_KEY replaced by the key the request carried."""
    if isinstance(step, str):
        return step.replace(ScriptedLLM.ECHO_KEY, key)
    if isinstance(step, bytes):
        return step.replace(ScriptedLLM.ECHO_KEY.encode(), key.encode("utf-8", "replace"))
    if isinstance(step, dict):
        return {k: _echo(v, key) for k, v in step.items()}
    if isinstance(step, (list, tuple)):
        return [_echo(v, key) for v in step]
    return step

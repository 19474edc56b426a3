"""A small OpenAI-compatible chat-completions server for tests, replaying scripted answers.

It speaks the real protocol over HTTP on 127.0.0.1: ``POST /v1/chat/completions`` with
``response_format`` (json_schema / json_object) and ``tools``; errors as the API sends them.
Scripts are keyed by (agent, scene); an empty script gives a default answer.
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class ScriptedLLM:
    def __init__(self, default_answer: Callable[[str, str], dict], reject: tuple[str, ...] = (),
                 reject_status: int = 400):
        self.default_answer = default_answer
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
                agent = "supervisor" if "continuity supervisor" in system else "artist"
                scene = (re.search(r"Scene (\S+?)[ ,(]", user) or re.search(r"Scene (\S+)", user)).group(1)
                fmt = (body.get("response_format") or {}).get("type")
                with llm.lock:
                    llm.requests.append({"agent": agent, "scene": scene, "format": fmt, "tools": bool(body.get("tools")),
                                         "max_tokens": body.get("max_tokens"),
                                         "auth": self.headers.get("Authorization", ""), "messages": body["messages"]})
                    if fmt in llm.reject:
                        return self._send(llm.reject_status, {"error": {"message": f"response_format {fmt} is not supported "
                                                                     "by this server", "type": "invalid_request_error"}})
                    queue = llm.scripts.get((agent, scene)) or []
                    step = queue.pop(0) if queue else {"json": llm.default_answer(agent, scene)}
                if "sleep" in step:
                    time.sleep(step["sleep"])
                    step = {k: v for k, v in step.items() if k != "sleep"} or {"json": llm.default_answer(agent, scene)}
                if "status" in step:
                    return self._send(step["status"], {"error": {"message": step.get("message", "scripted error"),
                                                                 "type": "server_error"}}, step.get("headers", {}))
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

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

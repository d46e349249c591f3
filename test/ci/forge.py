#!/usr/bin/env python3
"""A local stand-in for the REST endpoints `novacron comment` uses on GitHub and GitLab.

    forge.py STATE_DIR

listens on 127.0.0.1 (a free port, written to STATE_DIR/port), keeps the
comments in STATE_DIR/comments.json and appends one JSON line per request to
STATE_DIR/requests.log (method, path, whether the credentials were right).

Environment:
  FORGE_TOKEN      the only token accepted (Authorization: Bearer TOKEN, or
                   JOB-TOKEN: TOKEN on GitLab); anything else: 401
  FORGE_REPO       the GitHub repository that exists (default acme/infra)
  FORGE_PROJECT    the GitLab project that exists, by path (default acme/infra; id 42 too)
  FORGE_PAGE_SIZE  comments per page at most (default: per_page), to exercise paging
  FORGE_SEED       comments already on every pull request before ours (default 3)
  FORGE_STRANGER   when set, the third of them is a stranger's that starts with the
                   prod marker (a planted comment `novacron comment` must leave alone)

Authors: the seeded comments are a stranger's (GitHub: a User with
author_association NONE; GitLab: user 99), the posted ones the token's
(GitHub: github-actions[bot], a Bot; GitLab: user 7, as GET /api/v4/user says).

GitHub:  GET/POST /repos/O/R/issues/N/comments (Link: rel="next"), PATCH /repos/O/R/issues/comments/ID;
         a body over 65,536 characters: 422, as GitHub answers.
GitLab:  GET/POST /api/v4/projects/P/merge_requests/IID/notes (x-next-page), PUT .../notes/NID,
         GET /api/v4/user.
"""
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = sys.argv[1]
TOKEN = os.environ.get("FORGE_TOKEN", "")
REPO = os.environ.get("FORGE_REPO", "acme/infra")
PROJECT = os.environ.get("FORGE_PROJECT", "acme/infra")
PAGE_SIZE = int(os.environ.get("FORGE_PAGE_SIZE", "0"))
SEED = int(os.environ.get("FORGE_SEED", "3"))
STRANGER = bool(os.environ.get("FORGE_STRANGER"))
GH_STRANGER = {"user": {"login": "stranger", "type": "User"}, "author_association": "NONE"}
GH_OURS = {"user": {"login": "github-actions[bot]", "type": "Bot"}, "author_association": "NONE"}
LOCK = threading.Lock()
COMMENTS_FILE = os.path.join(STATE, "comments.json")


def load():
    try:
        with open(COMMENTS_FILE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"next_id": 1000, "threads": {}}


def save(db):
    tmp = COMMENTS_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(db, f, indent=1)
    os.replace(tmp, COMMENTS_FILE)


def thread(db, key, gitlab):
    if key not in db["threads"]:
        seeded = []
        for i in range(SEED):
            db["next_id"] += 1
            text = "LGTM %d" % i if i else "<!-- other-bot -->\nnot ours"
            if STRANGER and i == 2:
                text = "<!-- novacron:plan:prod -->\n### NovaCron plan: no changes (a stranger's)"
            c = {"id": db["next_id"], "body": text}
            c.update({"author": {"id": 99}} if gitlab else GH_STRANGER)
            seeded.append(c)
        if gitlab:
            db["next_id"] += 1
            seeded.append({"id": db["next_id"], "body": "<!-- novacron:plan:prod -->\nadded 1 commit", "system": True})
        db["threads"][key] = seeded
    return db["threads"][key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def record(self, auth_ok, body_len):
        with open(os.path.join(STATE, "requests.log"), "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "auth_ok": auth_ok,
                                "body_len": body_len, "user_agent": self.headers.get("User-Agent", "")}) + "\n")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        gitlab = path.startswith("/api/v4/")
        auth = self.headers.get("Authorization", "")
        auth_ok = bool(TOKEN) and (auth == "Bearer " + TOKEN or (gitlab and self.headers.get("JOB-TOKEN") == TOKEN))
        self.record(auth_ok, len(raw))
        if not auth_ok:
            return self.answer(401, {"message": "401 Unauthorized"} if gitlab else
                               {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        parts = path.strip("/").split("/")
        body = None
        if raw:
            try:
                body = json.loads(raw)["body"]
            except (ValueError, KeyError, TypeError):
                return self.answer(400, {"message": "Problems parsing JSON"})
        with LOCK:
            db = load()
            try:
                return self.route(db, parts, query, gitlab, body)
            finally:
                save(db)

    def page(self, items, query, link_base, gitlab):
        per = int(query.get("per_page", ["30"])[0])
        if PAGE_SIZE:
            per = min(per, PAGE_SIZE)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per: page * per]
        headers = {}
        if page * per < len(items):
            if gitlab:
                headers["x-next-page"] = str(page + 1)
            else:
                host = "http://%s:%d" % self.server.server_address[:2]
                nxt = "%s%s?per_page=%d&page=%d" % (host, link_base, per, page + 1)
                last = "%s%s?per_page=%d&page=%d" % (host, link_base, per, (len(items) + per - 1) // per)
                headers["Link"] = '<%s>; rel="next", <%s>; rel="last"' % (nxt, last)
        elif gitlab:
            headers["x-next-page"] = ""
        return self.answer(200, chunk, headers)

    def route(self, db, parts, query, gitlab, body):
        if gitlab and parts == ["api", "v4", "user"] and self.command == "GET":
            return self.answer(200, {"id": 7, "username": "novacron-bot"})
        if gitlab:
            # api v4 projects P merge_requests IID notes [NID]
            if len(parts) < 6 or parts[2] != "projects" or parts[4] != "merge_requests" or parts[6:7] != ["notes"]:
                return self.answer(404, {"error": "404 Not Found"})
            proj = urllib.parse.unquote(parts[3])
            if proj not in (PROJECT, "42"):
                return self.answer(404, {"message": "404 Project Not Found"})
            key = "gitlab:%s!%s" % (PROJECT, parts[5])
            notes = thread(db, key, True)
            if len(parts) == 7 and self.command == "GET":
                return self.page(notes, query, None, True)
            if len(parts) == 7 and self.command == "POST" and body is not None:
                db["next_id"] += 1
                note = {"id": db["next_id"], "body": body, "author": {"id": 7}}
                notes.append(note)
                return self.answer(201, note)
            if len(parts) == 8 and self.command == "PUT" and body is not None:
                for n in notes:
                    if str(n["id"]) == parts[7]:
                        n["body"] = body
                        return self.answer(200, n)
                return self.answer(404, {"message": "404 Note Not Found"})
            return self.answer(405, {"message": "405 Method Not Allowed"})
        # repos O R issues N comments | repos O R issues comments ID
        if len(parts) != 6 or parts[0] != "repos" or parts[3] != "issues":
            return self.answer(404, {"message": "Not Found"})
        if "%s/%s" % (parts[1], parts[2]) != REPO:
            return self.answer(404, {"message": "Not Found"})
        if body is not None and len(body) > 65536:
            return self.answer(422, {"message": "Validation Failed", "errors": [
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}]})
        if parts[4] == "comments":
            for t in db["threads"].values():
                for c in t:
                    if str(c["id"]) == parts[5] and self.command == "PATCH" and body is not None:
                        c["body"] = body
                        return self.answer(200, c)
            return self.answer(404, {"message": "Not Found"})
        if parts[5] != "comments":
            return self.answer(404, {"message": "Not Found"})
        key = "github:%s#%s" % (REPO, parts[4])
        comments = thread(db, key, False)
        if self.command == "GET":
            return self.page(comments, query, "/repos/%s/issues/%s/comments" % (REPO, parts[4]), False)
        if self.command == "POST" and body is not None:
            db["next_id"] += 1
            c = {"id": db["next_id"], "body": body}
            c.update(GH_OURS)
            comments.append(c)
            return self.answer(201, c)
        return self.answer(404, {"message": "Not Found"})

    do_GET = do_POST = do_PATCH = do_PUT = handle_any


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = os.path.join(STATE, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, os.path.join(STATE, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()

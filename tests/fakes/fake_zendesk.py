#!/usr/bin/env python3
"""fake_zendesk: a stateful stand-in for the parts of the Zendesk API that
rolehook uses, for tests and the demo.  Python 3 standard library only;
listens on 127.0.0.1 only.

    python3 fake_zendesk.py --port 0 --port-file F --rate-limit 700 \
        --email admin@example.com --token T [--bearer B] [--seed FILE]

What it models (sources: ../../../shared/research/zendesk.md and the two
seed documents: the custom roles API reference and the community thread on
/api/admin/private/staff/{id}/entitlements):

  Users          GET/PUT /api/v2/users/{id}.json, POST /api/v2/users.json,
                 GET /api/v2/users/search.json?query=email:X | ?external_id=X,
                 GET /api/v2/users/show_many.json?ids=1,2 | ?external_ids=a,b
                 GET /api/v2/users/count.json?role[]=agent (count.value),
                 GET /api/v2/group_memberships.json (cursor pagination),
                 (up to 100; POST users accepts group_ids),
                 GET /api/v2/users.json?role[]=agent&role[]=admin with cursor
                 pagination (page[size] <= 100, page[after], meta.has_more,
                 links.next) or offset pagination (page, per_page, next_page).
  Custom roles   GET/POST /api/v2/custom_roles.json,
                 GET/PUT/DELETE /api/v2/custom_roles/{id}.json.  role_type
                 (always 0) and team_member_count are computed; sending them
                 is a 422.  Configuration keys are checked against the
                 documented table (types, allowed values, read-only keys).
                 Deleting a role that agents still hold is a 422.
  Groups         GET /api/v2/groups.json; memberships:
                 GET /api/v2/users/{id}/group_memberships.json,
                 POST /api/v2/group_memberships.json,
                 DELETE /api/v2/group_memberships/{id}.json.
  Entitlements   GET /api/v2/users/{id}/entitlements/full[.json] (official
                 read: chat, explore, guide, talk; no "support"), and the
                 private PUT /api/admin/private/staff/{id}/entitlements[.json]
                 (PUT creates a product that is absent; POST answers the
                 HTML 404 the thread quotes).  The private GET is still
                 modelled (with oas_check off): "support" follows the
                 user's role: custom_<role id>, "admin", or "agent" (legacy).

Checked against the OpenAPI description: every request under /api/ or
/oauth/ must match Zendesk's published description of the Support API
(zendesk_oas.json, made by oas_extract.py): a path template (".json"
stripped), a method of it, declared query parameters only (role[],
page[size] as the description declares them), and at the top level of a
JSON body and one level below (user.*) declared field names only.
OAS_ALLOW lists the two exceptions (private entitlements PUT, OAuth
/oauth/tokens), OAS_BODY_GAPS the bodies the description omits.  Anything
else is answered 400 {"error": "NotInOpenAPI", "description": why} and
recorded in GET /__fake/violations.  POST /__fake/config {"oas_check":
false} turns the check off (only for tests of the fake's own 422s).

Rules (Enterprise plan with custom roles):
  - role "end-user" clears custom_role_id, group memberships, the default
    group and every product entitlement (the seat is freed).
  - role "admin" clears custom_role_id.
  - role "agent" without custom_role_id keeps the user's current custom
    role; if there is none the user becomes a "legacy agent", which
    rolehook must never cause: every such change is recorded in
    state.legacy_events so tests can assert it is empty.
  - custom_role_id on a user whose resulting role is not "agent" is a 422.

UNCONFIRMED choices (the real API does not document them): an end-user's
entitlements GET is {"entitlements": {}}; a PUT that would activate a
product for an end-user is a 422; support.is_active false is a 422 (take
away Support by downgrading the role).

Errors look like Zendesk's: 401 {"error": "Couldn't authenticate you"},
404 {"error": "RecordNotFound", ...}, 422 {"error": "RecordInvalid",
"description": "Record validation errors", "details": {field: [{...}]}}
(malformed JSON is 422 "InvalidJSON"), 415 for a write that is not JSON,
429 {"error": "APIRateLimitExceeded"} with Retry-After.

Rate limit: a window of --window seconds (default 60) allowing
--rate-limit requests; every /api answer carries X-Rate-Limit,
X-Rate-Limit-Remaining, ratelimit-limit, ratelimit-remaining and
ratelimit-reset.  A request that arrives while a Retry-After given earlier
has not yet passed is counted in state.rate.early_requests (hammering).

Control API (no auth, same port, never under /api):
  POST /__fake/faults  {"rules": [{"match": "PUT /api/v2/users/*",
                         "kind": "500|503|429|timeout|reset|slow|big|garbage|redirect|lost",
                         "count": N, "skip": N, "probability": p,
                         "delay_s": x, "retry_after": s, "size": bytes}]}
                       (appends; {"replace": true, ...} replaces; count
                        absent = unlimited)
  DELETE /__fake/faults
  GET  /__fake/requests[?since=SEQ][&all=1]
                       every /api request (all=1: control ones too): seq,
                       method, path, query, body, status, time, fault, auth
                       (the scheme only, never the credential), content_type
  POST /__fake/reset   forget state, faults, requests and the rate window
  POST /__fake/seed    {"users", "custom_roles", "groups", "memberships",
                        "entitlements": {"<user id>": {...}}}
  GET  /__fake/state
  GET  /__fake/violations  {"violations": [{seq, method, path, query, why}],
                            "oas_check", "source"}
  POST /__fake/config  {"rate_limit", "window_s", "links_base",
                        "user_update_limit", "oas_check", "job_delay_s",
                        "job_fail_next" (the next N jobs end "failed"),
                        "oauth": {"enabled", "client_id", "client_secret",
                                  "access_ttl_s", "rotate", "delay_s"}}
  POST /__fake/oauth/refresh_token  a new live refresh token (the Admin
                       Center step); POST /__fake/oauth/expire kills every
                       access token.  state.oauth: grants, max_inflight
                       (concurrent grants), refresh tokens issued.

OAuth (config "oauth.enabled"): POST /oauth/tokens with the
client_credentials or refresh_token grant (JSON body); access tokens live
access_ttl_s seconds and a Bearer token that is unknown or expired gets
401 on /api/ (Basic API-token auth keeps working); each refresh kills the
refresh token it used (a reuse is 400 invalid_grant); delay_s holds the
answer back after the rotation (the crash window).
"""
import argparse
import base64
import binascii
import fnmatch
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

MAX_BODY = 2 * 1024 * 1024
MAX_RECORDED = 200000
FIRST_ID = 360000000001  # Zendesk ids do not fit in 32 bits
PRODUCTS = ("support", "chat", "talk", "guide", "explore")
ROLES = ("end-user", "agent", "admin")
USER_WRITABLE = ("name", "email", "role", "custom_role_id", "suspended", "external_id")
USER_READONLY = ("id", "url", "created_at", "updated_at", "active", "role_type",
                 "default_group_id", "last_login_at", "verified", "shared")
ROLE_WRITABLE = ("name", "description", "configuration")
ROLE_READONLY = ("id", "role_type", "team_member_count", "created_at", "updated_at", "url")

# The configuration table of the custom roles API reference: key ->
# (type or tuple of allowed strings, read_only).
BOOL = bool
ROLE_CONFIG = {
    "chat_access": (BOOL, True),
    "end_user_list_access": (("full", "none"), False),
    "end_user_profile_access": (("edit", "edit-within-org", "full", "readonly"), False),
    "explore_access": (("edit", "full", "none", "readonly"), False),
    "forum_access": (("edit-topics", "full", "readonly"), False),
    "forum_access_restricted_content": (BOOL, False),
    "group_access": (BOOL, True),
    "light_agent": (BOOL, True),
    "macro_access": (("full", "manage-group", "manage-personal", "readonly"), False),
    "manage_business_rules": (BOOL, False),
    "manage_dynamic_content": (BOOL, False),
    "manage_extensions_and_channels": (BOOL, False),
    "manage_facebook": (BOOL, False),
    "moderate_forums": (BOOL, True),
    "organization_editing": (BOOL, False),
    "organization_notes_editing": (BOOL, True),
    "report_access": (("full", "none", "readonly"), False),
    "ticket_access": (("all", "assigned-only", "within-groups", "within-organization"), False),
    "ticket_comment_access": (("public", "none"), False),
    "ticket_deletion": (BOOL, False),
    "ticket_editing": (BOOL, False),
    "ticket_merge": (BOOL, False),
    "ticket_tag_editing": (BOOL, False),
    "twitter_search_access": (BOOL, False),
    "user_view_access": (("full", "manage-group", "manage-personal", "none", "readonly"), False),
    "view_access": (("full", "manage-group", "manage-personal", "playonly", "readonly"), False),
    "view_deleted_tickets": (BOOL, False),
    "voice_access": (BOOL, False),
}
ROLE_CONFIG_DEFAULTS = {
    "end_user_list_access": "none", "end_user_profile_access": "readonly",
    "explore_access": "none", "forum_access": "readonly", "macro_access": "readonly",
    "report_access": "none", "ticket_access": "within-groups",
    "ticket_comment_access": "public", "user_view_access": "none", "view_access": "readonly",
}
GRACE_S = 0.5  # see take_budget

FAULT_KINDS = ("500", "503", "429", "timeout", "reset", "slow", "big", "garbage", "redirect",
               "lost")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NOT_FOUND_HTML = (b"<html><body><h1>Oops! The page you were looking for doesn't exist."
                  b"</h1><p>You may have mistyped the address or the page may have moved."
                  b"</p></body></html>")


def now_iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


class ApiError(Exception):
    """An error answer: status and a Zendesk-shaped JSON body."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid(field, description, error="InvalidValue"):
    return ApiError(422, {"error": "RecordInvalid", "description": "Record validation errors",
                          "details": {field: [{"description": description, "error": error}]}})


def not_found():
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class State:
    """Everything the fake remembers.  Callers hold State.lock."""

    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.cfg = cfg
        self.rng = random.Random(cfg.get("random_seed", 1))
        self.clear()

    def clear(self):
        self.users = {}
        self.by_email = {}
        self.by_external = {}
        self.roles = {}
        self.groups = {}
        self.memberships = {}
        self.entitlements = {}  # user id -> product -> {"name", "is_active"}
        self.legacy_events = []
        self.violations = []  # requests not in the OpenAPI description
        self.faults = []
        self.requests = []
        self.seq = 0
        self.next_id = FIRST_ID
        self.window_start = None
        self.window_count = 0
        self.blocked_until = 0.0
        self.rate_limited = 0
        self.early_requests = 0
        self.blocked_from = 0.0
        self.user_updates = {}  # user id -> [times] for the per-user limit
        self.oauth = oauth_state()
        self.jobs = {}  # job id -> job (see new_job)
        self.job_fail_next = 0

    def new_id(self):
        self.next_id += 1
        return self.next_id

    # ------------------------------------------------------------ users
    def index_user(self, u, old=None):
        if old is not None:
            if old.get("email"):
                self.by_email.pop(old["email"].lower(), None)
            if old.get("external_id") is not None:
                self.by_external.pop(old["external_id"], None)
        if u.get("email"):
            self.by_email[u["email"].lower()] = u["id"]
        if u.get("external_id") is not None:
            self.by_external[u["external_id"]] = u["id"]

    def user_view(self, u, base):
        out = dict(u)
        out["url"] = "%s/api/v2/users/%d.json" % (base, u["id"])
        if u["role"] == "agent" and u.get("custom_role_id") is not None:
            out["role_type"] = 0
        elif u["role"] == "admin":
            out["role_type"] = 4
        else:
            out["role_type"] = None
        return out

    def make_user(self, src, seeded):
        t = now_iso()
        u = {"id": src.get("id") if seeded and is_int(src.get("id")) else self.new_id(),
             "name": src.get("name", ""), "email": src.get("email"),
             "role": src.get("role", "end-user"), "custom_role_id": src.get("custom_role_id"),
             "suspended": bool(src.get("suspended", False)), "active": True,
             "external_id": src.get("external_id"),
             "default_group_id": src.get("default_group_id") if seeded else None,
             "created_at": src.get("created_at", t) if seeded else t,
             "updated_at": src.get("updated_at", t) if seeded else t}
        if u["id"] >= self.next_id:
            self.next_id = u["id"]
        return u

    def check_user_fields(self, fields, uid, creating):
        for k in fields:
            if k in USER_READONLY:
                raise invalid(k, "%s is read-only" % k, "ReadOnly")
            if k not in USER_WRITABLE:
                raise invalid(k, "unknown field %s" % k, "UnknownField")
        if "name" in fields and (not isinstance(fields["name"], str) or
                                 not fields["name"].strip() or len(fields["name"]) > 255):
            raise invalid("name", "Name: is too short (minimum one character)", "BlankValue")
        if creating and "name" not in fields:
            raise invalid("name", "Name: cannot be blank", "BlankValue")
        if "email" in fields:
            e = fields["email"]
            if not isinstance(e, str) or len(e) > 254 or not EMAIL_RE.match(e):
                raise invalid("email", "Email: %s is not properly formatted" %
                              (e if isinstance(e, str) else "value"), "InvalidFormat")
            other = self.by_email.get(e.lower())
            if other is not None and other != uid:
                raise invalid("email", "Email: %s is already being used by another user" % e,
                              "DuplicateValue")
        if "external_id" in fields:
            x = fields["external_id"]
            if x is not None and (not isinstance(x, str) or len(x) > 255):
                raise invalid("external_id", "External ID: must be a string", "InvalidValue")
            other = self.by_external.get(x) if x is not None else None
            if other is not None and other != uid:
                raise invalid("external_id", "External ID: has already been taken",
                              "DuplicateValue")
        if "role" in fields and fields["role"] not in ROLES:
            raise invalid("role", "Role: is not included in the list", "InvalidValue")
        if "custom_role_id" in fields:
            c = fields["custom_role_id"]
            if c is not None and (not is_int(c) or c not in self.roles):
                raise invalid("custom_role_id", "Custom role: is invalid", "InvalidValue")
        if "suspended" in fields and not isinstance(fields["suspended"], bool):
            raise invalid("suspended", "Suspended: must be true or false", "InvalidValue")

    def apply_role(self, u, fields, path):
        """The Enterprise role rules; u is changed in place."""
        old_role = u["role"]
        role = fields.get("role", old_role)
        if "custom_role_id" in fields and fields["custom_role_id"] is not None and role != "agent":
            raise invalid("custom_role_id", "Custom role: only agents can have a custom role")
        u["role"] = role
        if role == "end-user":
            u["custom_role_id"] = None
            if old_role != "end-user":
                self.drop_staff(u)
        elif role == "admin":
            u["custom_role_id"] = None
        else:
            if "custom_role_id" in fields:
                u["custom_role_id"] = fields["custom_role_id"]
            if u.get("custom_role_id") is None:
                self.legacy_events.append({"user_id": u["id"], "time": now_iso(), "path": path,
                                           "was": old_role})

    def drop_staff(self, u):
        self.entitlements.pop(u["id"], None)
        u["default_group_id"] = None
        for mid in [m for m, v in self.memberships.items() if v["user_id"] == u["id"]]:
            del self.memberships[mid]

    def create_user(self, fields, path):
        # UserCreateInput.group_ids: the groups to assign at creation
        # (OAS; only agents and admins can be group members).
        gids = fields.get("group_ids")
        fields = {k: v for k, v in fields.items() if k != "group_ids"}
        self.check_user_fields(fields, None, True)
        if gids is not None:
            if not isinstance(gids, list) or not all(is_int(g) and g in self.groups for g in gids):
                raise invalid("group_ids", "Group: is invalid")
            if gids and fields.get("role", "end-user") == "end-user":
                raise invalid("group_ids", "User: end users cannot be group members")
        u = self.make_user({"name": fields["name"], "email": fields.get("email"),
                            "external_id": fields.get("external_id"),
                            "suspended": fields.get("suspended", False)}, False)
        self.apply_role(u, fields, path)
        self.users[u["id"]] = u
        self.index_user(u)
        for gid in dict.fromkeys(gids or []):
            t = now_iso()
            mid = self.new_id()
            first = u.get("default_group_id") is None
            self.memberships[mid] = {"id": mid, "user_id": u["id"], "group_id": gid,
                                     "default": first, "created_at": t, "updated_at": t}
            if first:
                u["default_group_id"] = gid
        return u

    def update_user(self, uid, fields, path):
        u = self.users.get(uid)
        if u is None:
            raise not_found()
        self.check_user_fields(fields, uid, False)
        old = dict(u)
        new = dict(u)
        for k in ("name", "email", "external_id", "suspended"):
            if k in fields:
                new[k] = fields[k]
        if "role" in fields or "custom_role_id" in fields:
            self.apply_role(new, fields, path)
        new["updated_at"] = now_iso()
        u.clear()
        u.update(new)
        self.index_user(u, old)
        return u

    # ------------------------------------------------------ memberships
    def create_membership(self, fields):
        """CreateGroupMembership's rules; raises ApiError."""
        if not isinstance(fields, dict):
            raise invalid("group_membership", "must be an object", "BlankValue")
        for k in fields:
            if k not in ("user_id", "group_id", "default"):
                raise invalid(k, "unknown field %s" % k, "UnknownField")
        uid, gid = fields.get("user_id"), fields.get("group_id")
        u = self.users.get(uid) if is_int(uid) else None
        if u is None:
            raise invalid("user_id", "User: is invalid")
        if not is_int(gid) or gid not in self.groups:
            raise invalid("group_id", "Group: is invalid")
        if u["role"] == "end-user":
            raise invalid("user_id", "User: end users cannot be group members")
        for v in self.memberships.values():
            if v["user_id"] == uid and v["group_id"] == gid:
                raise invalid("group_id", "Group: has already been taken", "DuplicateValue")
        t = now_iso()
        mid = self.new_id()
        mem = {"id": mid, "user_id": uid, "group_id": gid,
               "default": bool(fields.get("default", False)) or u.get("default_group_id") is None,
               "created_at": t, "updated_at": t}
        self.memberships[mid] = mem
        if mem["default"]:
            u["default_group_id"] = gid
        return mem

    def delete_membership(self, mid):
        mem = self.memberships.pop(mid, None)
        if mem is None:
            raise not_found()
        u = self.users.get(mem["user_id"])
        if u is not None and u.get("default_group_id") == mem["group_id"]:
            u["default_group_id"] = None

    # ------------------------------------------------------------- jobs
    # Bulk endpoints answer with a job (Zendesk "Job Statuses").  Like
    # Zendesk's, the work happens after the answer: here when the job is
    # polled, or another job is queued, at least cfg["job_delay_s"]
    # (default 0) after it was queued, so a client that reads right after
    # queueing a job, without waiting for it, sees nothing done.
    JOB_MAX_QUEUED = 30

    def new_job(self, job_type, total, run, base):
        # Jobs nobody polls (destroy_many's) finish in the background too.
        for j in self.jobs.values():
            self.run_job(j)
        queued = sum(1 for j in self.jobs.values() if j["status"] == "queued")
        if queued >= self.JOB_MAX_QUEUED:
            raise ApiError(429, {"error": "TooManyJobs",
                                 "description": "Too many jobs queued or running"},
                           {"Retry-After": 5})
        jid = secrets.token_hex(16)
        self.jobs[jid] = {"id": jid, "job_type": job_type, "status": "queued", "total": total,
                          "progress": 0, "message": None, "results": None,
                          "url": "%s/api/v2/job_statuses/%s.json" % (base, jid),
                          "queued_at": time.time(), "run": run}
        return self.job_view(self.jobs[jid])

    def run_job(self, j):
        if j["status"] != "queued" or time.time() < j["queued_at"] + self.cfg.get("job_delay_s", 0):
            return
        if self.job_fail_next > 0:
            self.job_fail_next -= 1
            j.update(status="failed", message="Failed: the fake was told to fail this job")
            return
        results = j["run"]()
        j.update(status="completed", progress=len(results), results=results,
                 message="Completed at %s" % now_iso())

    @staticmethod
    def job_view(j):
        return {k: j[k] for k in ("id", "job_type", "status", "total", "progress", "message",
                                  "results", "url")}

    def job_item(self, action, key, fn):
        """One task of a job: its result entry (CreateResource/UpdateResource/FailedResult)."""
        try:
            out = fn()
        except ApiError as e:
            b = e.body if isinstance(e.body, dict) else {}
            r = {"action": action, "success": False, "error": b.get("error", "Failed"),
                 "details": json.dumps(b.get("details") or b.get("description") or "")}
            r.update(key)
            return r
        r = dict(key)
        r.update(out)
        return r

    # ------------------------------------------------------------ roles
    def role_view(self, r):
        out = dict(r)
        out["role_type"] = 0
        out["team_member_count"] = sum(1 for u in self.users.values()
                                       if u["role"] == "agent" and u.get("custom_role_id") == r["id"])
        out["configuration"] = dict(r["configuration"])
        return out

    def check_role(self, fields, rid, creating):
        if not isinstance(fields, dict):
            raise invalid("custom_role", "custom_role: must be an object")
        for k in fields:
            if k in ROLE_READONLY:
                raise invalid(k, "%s is read-only" % k, "ReadOnly")
            if k not in ROLE_WRITABLE:
                raise invalid(k, "unknown field %s" % k, "UnknownField")
        if creating and "name" not in fields:
            raise invalid("name", "Name: cannot be blank", "BlankValue")
        if "name" in fields:
            n = fields["name"]
            if not isinstance(n, str) or not n.strip() or len(n) > 255:
                raise invalid("name", "Name: cannot be blank", "BlankValue")
            for r in self.roles.values():
                if r["id"] != rid and r["name"].lower() == n.lower():
                    raise invalid("name", "Name: has already been taken", "DuplicateValue")
        if "description" in fields and fields["description"] is not None and \
                not isinstance(fields["description"], str):
            raise invalid("description", "Description: must be a string")
        cfg = fields.get("configuration", {})
        if not isinstance(cfg, dict):
            raise invalid("configuration", "Configuration: must be an object")
        for k, v in cfg.items():
            spec = ROLE_CONFIG.get(k)
            if spec is None:
                raise invalid("configuration." + k, "unknown configuration key %s" % k,
                              "UnknownField")
            kind, ro = spec
            if ro:
                raise invalid("configuration." + k, "%s is read-only" % k, "ReadOnly")
            if kind is BOOL:
                if not isinstance(v, bool):
                    raise invalid("configuration." + k, "%s must be true or false" % k)
            elif v not in kind:
                raise invalid("configuration." + k, "%s must be one of %s" % (k, ", ".join(kind)))

    def make_role(self, src, seeded):
        t = now_iso()
        conf = {k: (False if spec[0] is BOOL else ROLE_CONFIG_DEFAULTS[k])
                for k, spec in ROLE_CONFIG.items()}
        conf.update(src.get("configuration") or {})
        r = {"id": src["id"] if seeded and is_int(src.get("id")) else self.new_id(),
             "name": src["name"], "description": src.get("description"),
             "configuration": conf,
             "created_at": src.get("created_at", t) if seeded else t,
             "updated_at": src.get("updated_at", t) if seeded else t}
        if r["id"] >= self.next_id:
            self.next_id = r["id"]
        return r

    # ------------------------------------------------------- entitlements
    def support_name(self, u):
        if u["role"] == "admin":
            return "admin"
        if u["role"] == "agent":
            c = u.get("custom_role_id")
            return "custom_%d" % c if c is not None else "agent"
        return None

    def ent_view(self, u):
        out = {}
        sn = self.support_name(u)
        if sn is not None:
            out["support"] = {"user_id": u["id"], "name": sn, "is_active": True}
        for p, v in sorted(self.entitlements.get(u["id"], {}).items()):
            out[p] = {"user_id": u["id"], "name": v["name"], "is_active": v["is_active"]}
        return {"entitlements": out}

    def ent_full_view(self, u):
        """GET /api/v2/users/{id}/entitlements/full (OAS UserEntitlementsFullResponse):
        chat, explore, guide, talk as {name, is_active}, from the state the
        private PUT writes; no "support" key (Support is role/custom_role_id).
        UNCONFIRMED: a product the user was never given is absent."""
        return {"entitlements": {p: {"name": v["name"], "is_active": v["is_active"]}
                                 for p, v in sorted(self.entitlements.get(u["id"], {}).items())
                                 if p != "support"}}

    def put_entitlements(self, u, ents, path):
        if not isinstance(ents, dict):
            raise invalid("entitlements", "entitlements: must be an object")
        staged = {p: dict(v) for p, v in self.entitlements.get(u["id"], {}).items()}
        support = None
        for p, v in ents.items():
            if p not in PRODUCTS:
                raise invalid("entitlements." + p, "unknown product %s" % p, "UnknownField")
            if not isinstance(v, dict):
                raise invalid("entitlements." + p, "%s: must be an object" % p)
            for k in v:
                if k not in ("name", "is_active", "user_id"):
                    raise invalid("entitlements.%s.%s" % (p, k), "unknown field %s" % k,
                                  "UnknownField")
            if "user_id" in v and v["user_id"] != u["id"]:
                raise invalid("entitlements.%s.user_id" % p, "user_id does not match the URL")
            if "is_active" in v and not isinstance(v["is_active"], bool):
                raise invalid("entitlements.%s.is_active" % p, "is_active must be true or false")
            if "name" in v and (not isinstance(v["name"], str) or not NAME_RE.match(v["name"])):
                raise invalid("entitlements.%s.name" % p, "name is not a valid entitlement")
            if p == "support":
                support = v
                continue
            cur = staged.get(p)
            if cur is None:
                if "name" not in v:
                    raise invalid("entitlements.%s.name" % p, "name is required for a new "
                                  "entitlement", "BlankValue")
                cur = {"name": v["name"], "is_active": v.get("is_active", True)}
            else:
                cur.update({k: v[k] for k in ("name", "is_active") if k in v})
            if u["role"] == "end-user" and cur["is_active"]:
                raise invalid("entitlements." + p, "end users cannot hold a %s seat" % p)
            staged[p] = cur
        if support is not None:
            if support.get("is_active") is False:
                raise invalid("entitlements.support.is_active",
                              "remove Support access by changing the role")
            name = support.get("name")
            if name is not None and name != self.support_name(u):
                if name == "admin":
                    self.apply_role(u, {"role": "admin"}, path)
                elif name == "agent":
                    self.apply_role(u, {"role": "agent", "custom_role_id": None}, path)
                elif name.startswith("custom_") and name[7:].isdigit() and \
                        int(name[7:]) in self.roles:
                    self.apply_role(u, {"role": "agent", "custom_role_id": int(name[7:])}, path)
                else:
                    raise invalid("entitlements.support.name", "unknown Support role %s" % name)
                u["updated_at"] = now_iso()
        if u["role"] == "end-user":
            staged = {p: v for p, v in staged.items() if v["is_active"]}
        if staged:
            self.entitlements[u["id"]] = staged
        else:
            self.entitlements.pop(u["id"], None)

    # --------------------------------------------------------------- seed
    def seed(self, doc):
        if not isinstance(doc, dict):
            raise ValueError("seed must be an object")
        for g in doc.get("groups", []):
            gid = g["id"] if is_int(g.get("id")) else self.new_id()
            self.next_id = max(self.next_id, gid)
            t = now_iso()
            self.groups[gid] = {"id": gid, "name": g["name"], "description": g.get("description", ""),
                                "default": bool(g.get("default", False)), "deleted": False,
                                "created_at": t, "updated_at": t}
        for r in doc.get("custom_roles", []):
            rr = self.make_role(r, True)
            self.roles[rr["id"]] = rr
        for s in doc.get("users", []):
            u = self.make_user(s, True)
            if u["role"] not in ROLES:
                raise ValueError("bad role %r" % u["role"])
            if u["role"] != "agent":
                u["custom_role_id"] = None
            old = self.users.get(u["id"])
            self.users[u["id"]] = u
            self.index_user(u, old)
        for m in doc.get("memberships", []):
            mid = m["id"] if is_int(m.get("id")) else self.new_id()
            self.next_id = max(self.next_id, mid)
            t = now_iso()
            self.memberships[mid] = {"id": mid, "user_id": m["user_id"], "group_id": m["group_id"],
                                     "default": bool(m.get("default", False)),
                                     "created_at": t, "updated_at": t}
        for uid, ents in (doc.get("entitlements") or {}).items():
            self.entitlements[int(uid)] = {
                p: {"name": v["name"], "is_active": bool(v.get("is_active", True))}
                for p, v in ents.items() if p != "support"}

    def dump(self, base):
        seats = {p: 0 for p in PRODUCTS}
        for u in self.users.values():
            if u["role"] in ("agent", "admin"):
                seats["support"] += 1
        for ents in self.entitlements.values():
            for p, v in ents.items():
                if v["is_active"]:
                    seats[p] += 1
        return {
            "users": [self.user_view(u, base) for _, u in sorted(self.users.items())],
            "custom_roles": [self.role_view(r) for _, r in sorted(self.roles.items())],
            "groups": [g for _, g in sorted(self.groups.items())],
            "memberships": [m for _, m in sorted(self.memberships.items())],
            "entitlements": {str(uid): self.ent_view(self.users[uid])["entitlements"]
                             for uid in sorted(self.users)
                             if self.users[uid]["role"] != "end-user" or uid in self.entitlements},
            "legacy_events": list(self.legacy_events),
            "violations": list(self.violations),
            "legacy_agents": sorted(u["id"] for u in self.users.values()
                                    if u["role"] == "agent" and u.get("custom_role_id") is None),
            "seats": seats,
            "faults": [dict(f) for f in self.faults],
            "rate": {"limit": self.cfg["rate_limit"], "window_s": self.cfg["window_s"],
                     "used": self.window_count, "rate_limited": self.rate_limited,
                     "early_requests": self.early_requests},
            "requests": len(self.requests),
            "oauth": oauth_dump(self.oauth),
            "jobs": [dict(self.job_view(j), queued_at=j["queued_at"])
                     for j in self.jobs.values()],
        }


def oauth_state():
    return {"access": {}, "refresh": {}, "grants": {"client_credentials": 0, "refresh_token": 0},
            "inflight": 0, "max_inflight": 0, "denied": 0, "invalid_grants": 0,
            "rejected": 0, "log": []}


def oauth_dump(o):
    """Counters, and every refresh token issued: state live|used, used
    (grants it made), reused (presented again after it died), next."""
    now = time.time()
    return {"grants": dict(o["grants"]), "max_inflight": o["max_inflight"],
            "denied": o["denied"], "invalid_grants": o["invalid_grants"],
            "rejected": o["rejected"], "log": list(o["log"]),
            "live_access": sum(1 for e in o["access"].values() if e > now),
            "refresh": {t: dict(r) for t, r in o["refresh"].items()}}


def encode_cursor(i):
    return base64.urlsafe_b64encode(("id:%d" % i).encode()).decode().rstrip("=")


def decode_cursor(s):
    try:
        raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode()
        if not raw.startswith("id:"):
            raise ValueError
        return int(raw[3:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, {"error": "InvalidPaginationParameter",
                             "description": "page[after] is not a valid cursor"})


# ------------------------------------------- the OpenAPI description check
# Every request under /api/ or /oauth/ is checked against Zendesk's
# published OpenAPI description of the Support API, condensed by
# oas_extract.py into zendesk_oas.json (regenerate: docs/operations.md).
# Paths there are templates without ".json"; Zendesk answers both forms.
OAS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zendesk_oas.json")

# Not in the Support API description, allowed on purpose (method, template):
OAS_ALLOW = {
    # The private product-access write (shared/seeds/000_*.txt): no official
    # write exists yet.  PUT only: reads go to the official
    # GET /api/v2/users/{user_id}/entitlements/full.
    ("PUT", "/api/admin/private/staff/{id}/entitlements"):
        {"query": [], "body": {"entitlements": ["chat", "explore", "guide", "support", "talk"]}},
    # OAuth API (developer.zendesk.com "OAuth Tokens"), not the Support API.
    ("POST", "/oauth/tokens"): {"query": [], "body": None, "any_body": True},
}

# Operations the description lists without a request body although Zendesk's
# API reference documents one; the fields are those of the reference page.
OAS_BODY_GAPS = {
    # "Custom Roles" reference: Create/Update Custom Role, {"custom_role": {...}}
    ("POST", "/api/v2/custom_roles"): {"custom_role": ["configuration", "description", "name"]},
    ("PUT", "/api/v2/custom_roles/{custom_role_id}"):
        {"custom_role": ["configuration", "description", "name"]},
    # "Group Memberships" reference: Create Membership, {"group_membership": {...}}
    ("POST", "/api/v2/group_memberships"): {"group_membership": ["default", "group_id",
                                                                 "user_id"]},
    # "Group Memberships" reference: Bulk Create Memberships,
    # {"group_memberships": [{"user_id", "group_id"}, ...]}
    ("POST", "/api/v2/group_memberships/create_many"): {"group_memberships": ["default", "group_id",
                                                                              "user_id"]},
}


def load_oas(path=OAS_FILE):
    """The condensed description: {"by_len": {n: [(segments, ops)]}, "source": ...}."""
    with open(path) as f:
        doc = json.load(f)
    by_len = {}
    paths = dict(doc["paths"])
    for (m, tmpl), spec in OAS_ALLOW.items():
        paths.setdefault(tmpl, {})[m] = spec
    for tmpl, ops in paths.items():
        segs = tmpl.strip("/").split("/")
        by_len.setdefault(len(segs), []).append((segs, tmpl, ops))
    return {"by_len": by_len, "source": doc.get("source")}


def oas_template(oas, path):
    """The best matching template (most literal segments) or None."""
    p = path[:-5] if path.endswith(".json") else path
    segs = p.strip("/").split("/")
    best = None
    for tsegs, tmpl, ops in oas["by_len"].get(len(segs), ()):
        lit = 0
        for t, s in zip(tsegs, segs):
            if t.startswith("{") and t.endswith("}"):
                if not s:
                    break
            elif t == s:
                lit += 1
            else:
                break
        else:
            if best is None or lit > best[0]:
                best = (lit, tmpl, ops)
    return None if best is None else best[1:]


def oas_violation(oas, method, path, query, body):
    """None, or why the request is not in the description.  body: parsed JSON."""
    hit = oas_template(oas, path)
    if hit is None:
        return "no path template matches %s" % path
    tmpl, ops = hit
    op = ops.get(method)
    if op is None:
        return "%s is not a method of %s (has %s)" % (method, tmpl, ", ".join(sorted(ops)))
    for k in sorted(set(k for k, _ in parse_qsl(query, keep_blank_values=True))):
        if k not in op["query"]:
            return "query parameter %r is not declared for %s %s" % (k, method, tmpl)
    if op.get("any_body") or body is None or body == "":
        return None
    spec = op["body"] if op["body"] is not None else OAS_BODY_GAPS.get((method, tmpl))
    if spec is None:
        return "%s %s declares no request body" % (method, tmpl)
    if not isinstance(body, dict):
        return None  # not JSON: the route answers 415/422 as Zendesk does
    for wrapper, v in body.items():
        if wrapper not in spec:
            return "body field %r is not declared for %s %s" % (wrapper, method, tmpl)
        fields = spec[wrapper]
        if fields is None:
            continue
        for item in (v if isinstance(v, list) else [v]):
            if isinstance(item, dict):
                for k in item:
                    if k not in fields:
                        return "body field %s.%s is not declared for %s %s" % (
                            wrapper, k, method, tmpl)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each
    # answer waits ~40 ms for the client's delayed ACK (Nagle).
    disable_nagle_algorithm = True
    server_version = "fake-zendesk/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # noqa: A003 - quiet unless asked
        if self.server.verbose:
            sys.stderr.write("fake_zendesk: " + (fmt % args) + "\n")

    # ------------------------------------------------------------ plumbing
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def send(self, status, body=None, headers=None, raw=None, ctype="application/json; charset=utf-8"):
        if getattr(self, "drop_reply", False):
            # "lost": the change was applied, the answer never arrives
            # (the client sees a reset): the case exactly-once must survive.
            self.drop_reply = False
            self.close_connection = True
            self.rec_status = status
            self.rec_lost = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        data = raw if raw is not None else (b"" if body is None else
                                            json.dumps(body, separators=(",", ":")).encode())
        # Recorded before the answer leaves: a client that reads
        # /__fake/requests right after its answer sees the status.
        self.rec_status = status
        if getattr(self, "cur_rec", None) is not None:
            self.cur_rec["status"] = status
        self.send_response(status)
        if data or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)
        self.rec_status = status

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(411, {"error": "LengthRequired"})
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        try:
            n = int(n)
        except ValueError:
            raise ApiError(400, {"error": "BadRequest", "description": "bad Content-Length"})
        if n < 0 or n > MAX_BODY:
            raise ApiError(413, {"error": "RequestTooLarge"})
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def dispatch(self):
        st = self.server.state
        self.rec_status = None
        self.cur_rec = None
        url = urlsplit(self.path)
        path, query = url.path, url.query
        rec = None
        try:
            try:
                body = self.read_body()
            except ApiError as e:
                self.close_connection = True
                self.send(e.status, e.body)
                return
            parsed = None
            if body:
                try:
                    parsed = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    parsed = body[:4096].decode("utf-8", "replace")
            auth = self.headers.get("Authorization") or ""
            with st.lock:
                st.seq += 1
                rec = {"seq": st.seq, "method": self.command, "path": path, "query": query,
                       "body": parsed, "status": None, "time": time.time(), "fault": None,
                       "auth": auth.split(" ", 1)[0].lower() if auth else None,
                       "content_type": self.headers.get("Content-Type")}
                if len(st.requests) < MAX_RECORDED:
                    st.requests.append(rec)
            self.cur_rec = rec
            why = None
            if not path.startswith("/__fake/") and st.cfg.get("oas_check", True) and \
                    (path.startswith("/api/") or path.startswith("/oauth/")):
                why = oas_violation(self.server.oas, self.command, path, query, parsed)
            if why is not None:
                with st.lock:
                    st.violations.append({"seq": rec["seq"], "method": self.command,
                                          "path": path, "query": query, "why": why})
                sys.stderr.write("fake_zendesk: NotInOpenAPI: %s %s: %s\n"
                                 % (self.command, path, why))
                self.send(400, {"error": "NotInOpenAPI", "description": why})
            elif path.startswith("/__fake/"):
                self.control(path, query, body)
            elif path == "/oauth/tokens" and self.command == "POST":
                self.oauth_tokens(parsed)
            elif path.startswith("/api/"):
                self.api(path, query, body, rec)
            else:
                self.send(404, raw=NOT_FOUND_HTML, ctype="text/html; charset=utf-8")
        finally:
            if rec is not None:
                rec["status"] = self.rec_status

    # ------------------------------------------------------------- faults
    def pick_fault(self, method, path):
        st = self.server.state
        with st.lock:
            for f in st.faults:
                m = f["match"]
                if " " in m:
                    fm, fp = m.split(" ", 1)
                else:
                    fm, fp = "*", m
                if fm != "*" and fm.upper() != method:
                    continue
                if not fnmatch.fnmatchcase(path, fp):
                    continue
                if f.get("count", -1) == 0:
                    continue
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    continue
                if st.rng.random() >= f.get("probability", 1.0):
                    continue
                if f.get("count", -1) > 0:
                    f["count"] -= 1
                f["hits"] = f.get("hits", 0) + 1
                return dict(f)
        return None

    def apply_fault(self, f, rec):
        """Returns True when the fault answered (or killed) the request."""
        kind = f["kind"]
        rec["fault"] = kind
        stop = self.server.stopping
        if kind == "lost":
            self.drop_reply = True
            return False
        if kind == "slow":
            stop.wait(float(f.get("delay_s", 1.0)))
            return False
        if kind == "timeout":
            stop.wait(float(f.get("delay_s", 30.0)))
            self.close_connection = True
            self.rec_status = 0
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if kind == "reset":
            self.close_connection = True
            self.rec_status = 0
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return True
        if kind == "big":
            size = int(f.get("size", 16 * 1024 * 1024))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size + 14))
            self.end_headers()
            try:
                self.wfile.write(b'{"users":["')
                chunk = b"x" * 65536
                left = size
                while left > 0:
                    self.wfile.write(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
                self.wfile.write(b'"]}')
            except OSError:
                self.close_connection = True
            self.rec_status = 200
            return True
        if kind == "garbage":
            self.send(200, raw=b"<html>not json</html>", ctype="application/json")
            return True
        if kind == "redirect":
            self.send(302, {"error": "moved"}, {"Location": "http://169.254.169.254/latest/"})
            return True
        headers = {}
        if "retry_after" in f:
            headers["Retry-After"] = f["retry_after"]
        if kind == "429":
            headers.setdefault("Retry-After", 1)
            headers.update(self.rate_headers(0))
            self.send(429, {"error": "APIRateLimitExceeded",
                            "description": "Number of allowed API requests per minute exceeded"},
                      headers)
            st = self.server.state
            with st.lock:
                st.rate_limited += 1
                st.blocked_from = time.time()
                st.blocked_until = max(st.blocked_until, time.time() + float(headers["Retry-After"]))
            return True
        if kind == "503":
            self.send(503, {"error": "ServiceUnavailable",
                            "description": "Zendesk is temporarily unavailable"}, headers)
            return True
        self.send(500, {"error": "InternalServerError",
                        "description": "Something went wrong"}, headers)
        return True

    # --------------------------------------------------------- rate limit
    def rate_headers(self, remaining):
        st = self.server.state
        limit = st.cfg["rate_limit"]
        reset = 0
        if st.window_start is not None:
            reset = max(0, math.ceil(st.window_start + st.cfg["window_s"] - time.time()))
        return {"X-Rate-Limit": limit, "X-Rate-Limit-Remaining": remaining,
                "ratelimit-limit": limit, "ratelimit-remaining": remaining,
                "ratelimit-reset": reset}

    def take_budget(self):
        """Counts this request; returns (headers, None) or (headers, ApiError 429)."""
        st = self.server.state
        with st.lock:
            t = time.time()
            # A request that was already on its way when the 429 went out
            # is not hammering: count only those sent after the client
            # could have read the 429 (a grace of GRACE_S).
            if st.blocked_from + GRACE_S < t < st.blocked_until:
                st.early_requests += 1
            if st.window_start is None or t >= st.window_start + st.cfg["window_s"]:
                st.window_start = t
                st.window_count = 0
            limit = st.cfg["rate_limit"]
            if st.window_count >= limit:
                wait = max(1, math.ceil(st.window_start + st.cfg["window_s"] - t))
                st.rate_limited += 1
                st.blocked_from = t
                st.blocked_until = max(st.blocked_until, t + wait)
                h = self.rate_headers(0)
                h["Retry-After"] = wait
                return h, ApiError(429, {"error": "APIRateLimitExceeded",
                                         "description": "Number of allowed API requests per "
                                                        "minute exceeded"}, h)
            st.window_count += 1
            return self.rate_headers(limit - st.window_count), None

    def check_user_update_limit(self, uid):
        """The per-user update limit (Zendesk: 5/min per user).  Caller holds the lock."""
        st = self.server.state
        lim = st.cfg.get("user_update_limit", 0)
        if not lim:
            return
        t = time.time()
        times = [x for x in st.user_updates.get(uid, []) if x > t - 60]
        if len(times) >= lim:
            wait = max(1, math.ceil(times[0] + 60 - t))
            st.rate_limited += 1
            st.blocked_from = t
            st.blocked_until = max(st.blocked_until, t + wait)
            raise ApiError(429, {"error": "TooManyRequests",
                                 "description": "Rate limit for user updates exceeded"},
                           {"Retry-After": wait})
        times.append(t)
        st.user_updates[uid] = times

    # ------------------------------------------------------------- auth
    def authorized(self):
        cfg = self.server.state.cfg
        h = self.headers.get("Authorization") or ""
        if h.startswith("Basic "):
            try:
                raw = base64.b64decode(h[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            return raw == "%s/token:%s" % (cfg["email"], cfg["token"])
        if h.startswith("Bearer "):
            tok = h[7:].strip()
            if cfg.get("oauth", {}).get("enabled"):
                st = self.server.state
                with st.lock:
                    exp = st.oauth["access"].get(tok)
                    if exp is not None and exp > time.time():
                        return True
                    st.oauth["rejected"] += 1
            return cfg.get("bearer") is not None and tok == cfg["bearer"]
        return False

    # ------------------------------------------------------------ OAuth
    def oauth_tokens(self, doc):
        """POST /oauth/tokens ("OAuth Tokens" API): client_credentials and
        refresh_token grants.  A refresh kills the refresh token it used
        (a reuse is 400 invalid_grant) and, with delay_s, answers only
        that long after the rotation: the window in which a client killed
        has lost its new token (state oauth.refresh says which tokens
        were issued but never seen again)."""
        st = self.server.state
        oc = st.cfg.get("oauth", {})
        if not oc.get("enabled"):
            self.send(404, raw=NOT_FOUND_HTML, ctype="text/html; charset=utf-8")
            return
        o = st.oauth
        with st.lock:
            o["inflight"] += 1
            o["max_inflight"] = max(o["max_inflight"], o["inflight"])
        try:
            status, ans = self.oauth_grant(doc, oc)
            if status == 200 and oc.get("delay_s"):
                self.server.stopping.wait(float(oc["delay_s"]))
        finally:
            with st.lock:
                o["inflight"] -= 1
        self.send(status, ans)

    def oauth_grant(self, doc, oc):
        st = self.server.state
        o = st.oauth
        if not isinstance(doc, dict):
            return 400, {"error": "invalid_request"}
        if doc.get("client_id") != oc.get("client_id") or \
                doc.get("client_secret") != oc.get("client_secret"):
            with st.lock:
                o["denied"] += 1
            return 401, {"error": "invalid_client",
                         "error_description": "Client authentication failed"}
        g = doc.get("grant_type")
        ttl = float(oc.get("access_ttl_s", 1800))
        with st.lock:
            ans = {"token_type": "bearer", "expires_in": max(1, int(round(ttl))),
                   "scope": doc.get("scope") or "read write"}
            if g == "client_credentials":
                for k in doc:
                    if k not in ("grant_type", "client_id", "client_secret", "scope",
                                 "expires_in"):
                        return 400, {"error": "invalid_request"}
            elif g == "refresh_token":
                rt = doc.get("refresh_token")
                r = o["refresh"].get(rt) if isinstance(rt, str) else None
                if r is None or r["state"] != "live":
                    o["invalid_grants"] += 1
                    if r is not None:
                        r["reused"] += 1
                    return 400, {"error": "invalid_grant",
                                 "error_description": "The refresh token is invalid"}
                r["used"] += 1
                if oc.get("rotate", True):
                    r["state"] = "used"
                    new = "rt-%s" % secrets.token_hex(12)
                    r["next"] = new
                    o["refresh"][new] = {"state": "live", "used": 0, "reused": 0,
                                         "next": None, "time": time.time()}
                    ans["refresh_token"] = new
                    ans["refresh_token_expires_in"] = 2592000
            else:
                return 400, {"error": "unsupported_grant_type"}
            at = "at-%s" % secrets.token_hex(16)
            o["access"][at] = time.time() + ttl
            o["grants"][g] += 1
            o["log"].append({"grant": g, "time": time.time()})
        return 200, dict(ans, access_token=at)

    # -------------------------------------------------------------- API
    def base(self):
        lb = self.server.state.cfg.get("links_base")
        if lb:
            return lb.rstrip("/")
        return "http://%s" % (self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port)

    def api(self, path, query, body, rec):
        st = self.server.state
        f = self.pick_fault(self.command, path)
        if f is not None and self.apply_fault(f, rec):
            return
        if not self.authorized():
            self.send(401, {"error": "Couldn't authenticate you"},
                      {"WWW-Authenticate": 'Basic realm="Web Password"'})
            return
        rh, err = self.take_budget()
        if err is not None:
            self.send(err.status, err.body, err.headers)
            return
        try:
            doc = None
            if self.command in ("POST", "PUT", "PATCH"):
                ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if ct != "application/json":
                    raise ApiError(415, {"error": "UnsupportedMediaType",
                                         "description": "Content-Type must be application/json"})
                try:
                    doc = json.loads(body.decode("utf-8")) if body else None
                except (ValueError, UnicodeDecodeError):
                    raise ApiError(422, {"error": "InvalidJSON",
                                         "description": "The request body is not valid JSON"})
            status, out = self.route(path, parse_qs(query, keep_blank_values=True), doc)
            self.send(status, out, rh)
        except ApiError as e:
            h = dict(rh)
            h.update(e.headers)
            if e.status == 404 and e.body is None:
                self.send(404, raw=NOT_FOUND_HTML, headers=h, ctype="text/html; charset=utf-8")
            else:
                self.send(e.status, e.body, h)

    def member(self, doc, key):
        if not isinstance(doc, dict) or not isinstance(doc.get(key), dict):
            raise invalid(key, "the body must be {\"%s\": {...}}" % key, "BlankValue")
        extra = [k for k in doc if k != key]
        if extra:
            raise invalid(extra[0], "unknown field %s" % extra[0], "UnknownField")
        return doc[key]

    def route(self, path, q, doc):
        st = self.server.state
        m = self.command
        p = path[:-5] if path.endswith(".json") else path
        parts = p.strip("/").split("/")
        base = self.base()

        def num(s):
            if not s.isdigit() or len(s) > 19:
                raise not_found()
            return int(s)

        if parts[:2] == ["api", "v2"]:
            rest = parts[2:]
            with st.lock:
                if rest == ["users", "update_many"] and m == "PUT":
                    return 200, {"job_status": self.update_many(q, doc, base)}
                if rest == ["users"] and m == "GET":
                    return 200, self.list_users(q, base)
                if rest == ["users"] and m == "POST":
                    u = st.create_user(self.member(doc, "user"), path)
                    return 201, {"user": st.user_view(u, base)}
                if rest == ["users", "search"] and m == "GET":
                    return 200, self.search_users(q, base)
                if rest == ["group_memberships"] and m == "GET":
                    return 200, self.list_memberships(q, base)
                if rest == ["users", "count"] and m == "GET":
                    # CountUsers (OAS): {"count": {"value", "refreshed_at"}}
                    roles = q.get("role[]", []) + q.get("role", [])
                    n = sum(1 for u in st.users.values() if not roles or u["role"] in roles)
                    return 200, {"count": {"value": n, "refreshed_at": now_iso()}}
                if rest == ["users", "show_many"] and m == "GET":
                    return 200, self.show_many_users(q, base)
                if len(rest) == 2 and rest[0] == "users" and m == "GET":
                    u = st.users.get(num(rest[1]))
                    if u is None:
                        raise not_found()
                    return 200, {"user": st.user_view(u, base)}
                if len(rest) == 2 and rest[0] == "users" and m == "PUT":
                    uid = num(rest[1])
                    fields = self.member(doc, "user")
                    if uid not in st.users:
                        raise not_found()
                    self.check_user_update_limit(uid)
                    u = st.update_user(uid, fields, path)
                    return 200, {"user": st.user_view(u, base)}
                if len(rest) == 3 and rest[0] == "users" and rest[2] == "group_memberships" \
                        and m == "GET":
                    uid = num(rest[1])
                    if uid not in st.users:
                        raise not_found()
                    ms = [v for _, v in sorted(st.memberships.items()) if v["user_id"] == uid]
                    return 200, {"group_memberships": ms, "next_page": None,
                                 "previous_page": None, "count": len(ms)}
                if len(rest) == 4 and rest[0] == "users" and rest[2:] == ["entitlements", "full"] \
                        and m == "GET":
                    u = st.users.get(num(rest[1]))
                    if u is None:
                        raise not_found()
                    return 200, st.ent_full_view(u)
                if rest == ["custom_roles"] and m == "GET":
                    rs = [st.role_view(r) for _, r in sorted(st.roles.items())]
                    return 200, {"custom_roles": rs}
                if rest == ["custom_roles"] and m == "POST":
                    fields = self.member(doc, "custom_role")
                    st.check_role(fields, None, True)
                    r = st.make_role(fields, False)
                    st.roles[r["id"]] = r
                    return 201, {"custom_role": st.role_view(r)}
                if len(rest) == 2 and rest[0] == "custom_roles":
                    rid = num(rest[1])
                    r = st.roles.get(rid)
                    if r is None:
                        raise not_found()
                    if m == "GET":
                        return 200, {"custom_role": st.role_view(r)}
                    if m == "PUT":
                        fields = self.member(doc, "custom_role")
                        st.check_role(fields, rid, False)
                        for k in ("name", "description"):
                            if k in fields:
                                r[k] = fields[k]
                        r["configuration"].update(fields.get("configuration") or {})
                        r["updated_at"] = now_iso()
                        return 200, {"custom_role": st.role_view(r)}
                    if m == "DELETE":
                        n = st.role_view(r)["team_member_count"]
                        if n > 0:
                            raise ApiError(422, {
                                "error": "RecordInvalid", "description": "Record validation errors",
                                "details": {"base": [{
                                    "description": "Cannot delete a role that is assigned to "
                                                   "%d agent(s)" % n, "error": "InUse"}]}})
                        del st.roles[rid]
                        return 204, None
                if rest == ["groups"] and m == "GET":
                    gs = [g for _, g in sorted(st.groups.items())]
                    return 200, {"groups": gs, "next_page": None, "previous_page": None,
                                 "count": len(gs)}
                if rest == ["group_memberships"] and m == "POST":
                    mem = st.create_membership(self.member(doc, "group_membership"))
                    return 201, {"group_membership": mem}
                if len(rest) == 2 and rest[0] == "group_memberships" and m == "DELETE" \
                        and rest[1] != "destroy_many":
                    st.delete_membership(num(rest[1]))
                    return 204, None
                if rest == ["group_memberships", "create_many"] and m == "POST":
                    items = doc.get("group_memberships") if isinstance(doc, dict) else None
                    if not isinstance(items, list) or not 1 <= len(items) <= 100 or \
                            [k for k in doc if k != "group_memberships"]:
                        raise invalid("group_memberships", "1 to 100 memberships expected",
                                      "BlankValue")

                    def run(items=items):
                        return [st.job_item("create", {"index": i},
                                            lambda f=f: {"id": st.create_membership(f)["id"]})
                                for i, f in enumerate(items)]
                    return 200, {"job_status": st.new_job("Bulk Create Memberships", len(items),
                                                          run, base)}
                if rest == ["group_memberships", "destroy_many"] and m == "DELETE":
                    raw = (q.get("ids") or [""])[0]
                    ids = [num(x) for x in raw.split(",")] if raw else []
                    if not 1 <= len(ids) <= 100:
                        raise invalid("ids", "1 to 100 ids expected", "BlankValue")
                    if any(x not in st.memberships for x in ids):
                        raise not_found()
                    for x in ids:  # removed at once; the job unassigns tickets
                        st.delete_membership(x)
                    return 200, {"job_status": st.new_job(
                        "Bulk Delete Memberships", len(ids),
                        lambda ids=ids: [{"id": x, "action": "delete", "success": True,
                                          "status": "Deleted"} for x in ids], base)}
                if len(rest) == 2 and rest[0] == "job_statuses" and m == "GET" \
                        and rest[1] != "show_many":
                    j = st.jobs.get(rest[1])
                    if j is None:
                        raise not_found()
                    st.run_job(j)
                    return 200, {"job_status": st.job_view(j)}
                if rest == ["job_statuses", "show_many"] and m == "GET":
                    out = []
                    for x in (q.get("ids") or [""])[0].split(","):
                        if x in st.jobs:
                            st.run_job(st.jobs[x])
                            out.append(st.job_view(st.jobs[x]))
                    return 200, {"job_statuses": out}
        if parts[:4] == ["api", "admin", "private", "staff"] and len(parts) == 6 and \
                parts[5] == "entitlements":
            with st.lock:
                u = st.users.get(num(parts[4]))
                if u is None:
                    raise not_found()
                if m == "GET":
                    return 200, st.ent_view(u)
                if m == "PUT":
                    st.put_entitlements(u, self.member(doc, "entitlements"), path)
                    return 200, st.ent_view(u)
            raise ApiError(404, None)  # POST: the HTML page the thread quotes
        raise not_found()

    def update_many(self, q, doc, base):
        """UpdateManyUsers: {"users": [{"id", ...}]}, or ids=/external_ids= with {"user": {...}}."""
        st = self.server.state
        if isinstance(doc, dict) and isinstance(doc.get("users"), list) and len(doc) == 1:
            items = doc["users"]
            if not 1 <= len(items) <= 100 or not all(isinstance(x, dict) and is_int(x.get("id"))
                                                     for x in items):
                raise invalid("users", "1 to 100 users, each with an id", "BlankValue")
            tasks = [(x["id"], {k: v for k, v in x.items() if k != "id"}) for x in items]
        else:
            fields = self.member(doc, "user")
            if q.get("ids"):
                keys = [int(x) for x in q["ids"][0].split(",") if x.isdigit()]
            elif q.get("external_ids"):
                keys = [st.by_external.get(x, -1) for x in q["external_ids"][0].split(",")]
            else:
                raise invalid("ids", "ids or external_ids expected", "BlankValue")
            if not 1 <= len(keys) <= 100:
                raise invalid("ids", "1 to 100 ids expected", "BlankValue")
            tasks = [(k, fields) for k in keys]

        def one(uid, fields, path):
            if uid not in st.users:
                raise not_found()
            self.check_user_update_limit(uid)
            st.update_user(uid, fields, path)
            return {"action": "update", "success": True, "status": "Updated"}

        path = "/api/v2/users/update_many"

        def run(tasks=tasks):
            return [st.job_item("update", {"id": uid}, lambda u=uid, f=f: one(u, f, path))
                    for uid, f in tasks]
        return st.new_job("Bulk Update Users", len(tasks), run, base)

    def page_size(self, q):
        raw = q.get("page[size]", ["100"])[0]
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ApiError(400, {"error": "InvalidPaginationParameter",
                                 "description": "page[size] must be between 1 and 100"})
        return int(raw)

    def list_users(self, q, base):
        st = self.server.state
        roles = q.get("role[]", []) + q.get("role", [])
        for r in roles:
            if r not in ROLES:
                raise ApiError(400, {"error": "InvalidParameter",
                                     "description": "role must be one of end-user, agent, admin"})
        ids = sorted(i for i, u in st.users.items() if not roles or u["role"] in roles)
        keep = [(k, v) for k, vs in q.items() for v in vs
                if k not in ("page[after]", "page[before]", "page[size]", "page", "per_page")]
        if "page[size]" in q or "page[after]" in q or "page[before]" in q:
            size = self.page_size(q)
            start = 0
            if "page[after]" in q:
                after = decode_cursor(q["page[after]"][0])
                lo, hi = 0, len(ids)
                while lo < hi:  # first id > after
                    mid = (lo + hi) // 2
                    if ids[mid] <= after:
                        lo = mid + 1
                    else:
                        hi = mid
                start = lo
            chunk = ids[start:start + size]
            has_more = start + size < len(ids)
            users = [st.user_view(st.users[i], base) for i in chunk]
            after_c = encode_cursor(chunk[-1]) if chunk else None
            before_c = encode_cursor(chunk[0]) if chunk else None

            def link(key, cur):
                if cur is None:
                    return None
                return "%s/api/v2/users.json?%s" % (base, urlencode(
                    [(key, cur), ("page[size]", str(size))] + keep))
            return {"users": users,
                    "meta": {"has_more": has_more, "after_cursor": after_c,
                             "before_cursor": before_c},
                    "links": {"next": link("page[after]", after_c),
                              "prev": link("page[before]", before_c)}}
        per = q.get("per_page", ["100"])[0]
        page = q.get("page", ["1"])[0]
        if not per.isdigit() or not 1 <= int(per) <= 100 or not page.isdigit() or int(page) < 1:
            raise ApiError(400, {"error": "InvalidPaginationParameter"})
        per, page = int(per), int(page)
        chunk = ids[(page - 1) * per: page * per]
        nxt = None
        if page * per < len(ids):
            nxt = "%s/api/v2/users.json?%s" % (base, urlencode(
                keep + [("page", str(page + 1)), ("per_page", str(per))]))
        return {"users": [st.user_view(st.users[i], base) for i in chunk], "next_page": nxt,
                "previous_page": None, "count": len(ids)}

    def show_many_users(self, q, base):
        """GET /api/v2/users/show_many?ids= | ?external_ids= (OAS
        ShowManyUsers: up to 100 comma-separated values; unknown ones are
        left out of the answer)."""
        st = self.server.state
        if ("ids" in q) == ("external_ids" in q):
            raise ApiError(400, {"error": "InvalidParameter",
                                 "description": "ids or external_ids is required"})
        by = "ids" if "ids" in q else "external_ids"
        keys = [k for k in q[by][0].split(",") if k != ""]
        if len(keys) > 100:
            raise ApiError(400, {"error": "InvalidParameter",
                                 "description": "at most 100 %s" % by})
        users = []
        for k in keys:
            uid = (int(k) if k.isdigit() and len(k) <= 19 else None) if by == "ids" \
                else st.by_external.get(k)
            if uid is not None and uid in st.users:
                users.append(st.user_view(st.users[uid], base))
        return {"users": users, "next_page": None, "previous_page": None,
                "count": len(users)}

    def list_memberships(self, q, base):
        """GET /api/v2/group_memberships: cursor pagination by membership id."""
        st = self.server.state
        size = self.page_size(q)
        ids = sorted(st.memberships)
        start = 0
        if "page[after]" in q:
            after = decode_cursor(q["page[after]"][0])
            start = next((k for k, i in enumerate(ids) if i > after), len(ids))
        chunk = ids[start:start + size]
        has_more = start + size < len(ids)
        nxt = None
        if has_more and chunk:
            nxt = "%s/api/v2/group_memberships.json?%s" % (base, urlencode(
                [("page[after]", encode_cursor(chunk[-1])), ("page[size]", str(size))]))
        return {"group_memberships": [st.memberships[i] for i in chunk],
                "meta": {"has_more": has_more,
                         "after_cursor": encode_cursor(chunk[-1]) if chunk else None,
                         "before_cursor": encode_cursor(chunk[0]) if chunk else None},
                "links": {"next": nxt, "prev": None}}

    def search_users(self, q, base):
        st = self.server.state
        if "external_id" in q:
            x = q["external_id"][0]
            uid = st.by_external.get(x)
            users = [st.user_view(st.users[uid], base)] if uid is not None else []
            return {"users": users, "next_page": None, "previous_page": None,
                    "count": len(users)}
        if "query" not in q:
            raise ApiError(400, {"error": "InvalidParameter",
                                 "description": "query or external_id is required"})
        terms = q["query"][0].split()
        found = []
        for uid in sorted(st.users):
            u = st.users[uid]
            ok = True
            for t in terms:
                k, _, v = t.partition(":")
                v = v.strip('"')
                if _ and k == "email":
                    ok = (u.get("email") or "").lower() == v.lower()
                elif _ and k == "external_id":
                    ok = u.get("external_id") == v
                elif _ and k == "role":
                    ok = u["role"] == v
                else:
                    tl = t.lower()
                    ok = tl in (u.get("name") or "").lower() or tl in (u.get("email") or "").lower()
                if not ok:
                    break
            if ok:
                found.append(st.user_view(u, base))
            if len(found) >= 100:
                break
        return {"users": found, "next_page": None, "previous_page": None, "count": len(found)}

    # ---------------------------------------------------------- control
    def control(self, path, query, body):
        st = self.server.state
        try:
            doc = json.loads(body) if body else {}
        except (ValueError, UnicodeDecodeError):
            self.send(400, {"error": "InvalidJSON"})
            return
        m = self.command
        try:
            if path == "/__fake/faults" and m == "POST":
                rules = doc.get("rules")
                if not isinstance(rules, list):
                    raise ValueError("rules must be a list")
                for r in rules:
                    if not isinstance(r, dict) or not isinstance(r.get("match"), str) or \
                            str(r.get("kind")) not in FAULT_KINDS:
                        raise ValueError("each rule needs match and a kind in %s" %
                                         ", ".join(FAULT_KINDS))
                    r["kind"] = str(r["kind"])
                with st.lock:
                    if doc.get("replace"):
                        st.faults = []
                    st.faults.extend(dict(r) for r in rules)
                    n = len(st.faults)
                self.send(200, {"faults": n})
            elif path == "/__fake/faults" and m == "DELETE":
                with st.lock:
                    st.faults = []
                self.send(200, {"faults": 0})
            elif path == "/__fake/requests" and m == "GET":
                q = parse_qs(query)
                since = int(q.get("since", ["0"])[0])
                every = q.get("all", ["0"])[0] == "1"
                with st.lock:
                    reqs = [dict(r) for r in st.requests if r["seq"] > since and
                            (every or not r["path"].startswith("/__fake/"))]
                self.send(200, {"requests": reqs})
            elif path == "/__fake/violations" and m == "GET":
                with st.lock:
                    out = {"violations": list(st.violations),
                           "oas_check": st.cfg.get("oas_check", True),
                           "source": self.server.oas["source"]}
                self.send(200, out)
            elif path == "/__fake/reset" and m == "POST":
                with st.lock:
                    st.clear()
                self.send(200, {"ok": True})
            elif path == "/__fake/seed" and m == "POST":
                with st.lock:
                    st.seed(doc)
                    n = len(st.users)
                self.send(200, {"ok": True, "users": n})
            elif path == "/__fake/oauth/refresh_token" and m == "POST":
                # What an admin gets from the Admin Center: a new live token.
                tok = "rt-%s" % secrets.token_hex(12)
                with st.lock:
                    st.oauth["refresh"][tok] = {"state": "live", "used": 0, "reused": 0,
                                                "next": None, "time": time.time()}
                self.send(200, {"refresh_token": tok})
            elif path == "/__fake/oauth/expire" and m == "POST":
                with st.lock:
                    st.oauth["access"].clear()
                self.send(200, {"ok": True})
            elif path == "/__fake/state" and m == "GET":
                with st.lock:
                    out = st.dump(self.base())
                self.send(200, out)
            elif path == "/__fake/config" and m == "POST":
                with st.lock:
                    if "job_fail_next" in doc:
                        st.job_fail_next = int(doc["job_fail_next"])
                    for k in ("rate_limit", "window_s", "user_update_limit", "job_delay_s"):
                        if k in doc:
                            v = doc[k]
                            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                                raise ValueError("%s must be a number >= 0" % k)
                            st.cfg[k] = v
                    if "links_base" in doc:
                        st.cfg["links_base"] = doc["links_base"]
                    if "oas_check" in doc:
                        if not isinstance(doc["oas_check"], bool):
                            raise ValueError("oas_check must be true or false")
                        st.cfg["oas_check"] = doc["oas_check"]
                    if "oauth" in doc:
                        # {"enabled", "client_id", "client_secret", "access_ttl_s",
                        #  "rotate" (default true), "delay_s"}: merged
                        if not isinstance(doc["oauth"], dict):
                            raise ValueError("oauth must be an object")
                        st.cfg.setdefault("oauth", {}).update(doc["oauth"])
                    st.window_start = None
                    st.window_count = 0
                    st.blocked_until = 0.0
                self.send(200, {"ok": True})
            else:
                self.send(404, {"error": "no such control endpoint"})
        except (ValueError, KeyError, TypeError) as e:
            self.send(400, {"error": "BadControlRequest", "description": str(e)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that went away (timeouts, resets) is normal here.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, OSError)):
            return
        super().handle_error(request, client_address)


def make_server(port=0, rate_limit=700, window_s=60, email="admin@example.com",
                token="test-token", bearer=None, seed=None, verbose=False,
                user_update_limit=0, links_base=None):
    """Builds (but does not start) a fake bound to 127.0.0.1:port."""
    cfg = {"rate_limit": rate_limit, "window_s": window_s, "email": email, "token": token,
           "bearer": bearer, "user_update_limit": user_update_limit, "links_base": links_base}
    srv = Server(("127.0.0.1", port), Handler)
    srv.oas = load_oas()
    srv.state = State(cfg)
    srv.verbose = verbose
    srv.stopping = threading.Event()
    if seed is not None:
        srv.state.seed(seed)
    return srv


def main(argv=None):
    ap = argparse.ArgumentParser(description="A stateful fake Zendesk API on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the chosen port here (atomically)")
    ap.add_argument("--rate-limit", type=int, default=700, help="requests per window")
    ap.add_argument("--window", type=float, default=60.0, help="rate window in seconds")
    ap.add_argument("--user-update-limit", type=int, default=0,
                    help="PUT /users/{id} per user per minute (0: off)")
    ap.add_argument("--email", default="admin@example.com")
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--bearer", default=None, help="accepted OAuth bearer token")
    ap.add_argument("--seed", help="JSON file with users, custom_roles, groups, ...")
    ap.add_argument("--links-base", default=None, help="origin used in links.next")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    seed = None
    if a.seed:
        with open(a.seed) as f:
            seed = json.load(f)
    srv = make_server(a.port, a.rate_limit, a.window, a.email, a.token, a.bearer, seed,
                      a.verbose, a.user_update_limit, a.links_base)
    port = srv.server_address[1]

    def stop(_sig, _frm):
        srv.stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print("fake_zendesk listening on 127.0.0.1:%d" % port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.stopping.set()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

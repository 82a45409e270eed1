"""The demo's workspace file: the core app, the sandbox's three tools, and the flows between."""

from __future__ import annotations

from pathlib import Path

from syncwell.sandbox import SandboxEndpoints

__all__ = ["WEBHOOK_SECRET", "write_workspace"]

WEBHOOK_SECRET = "whsec_c3luY3dlbGwgZGVtbyB3ZWJob29rIHNlY3JldCE="  # noqa: S105 - demo only
"""The demo CRM signs its webhooks with this; a real workspace reads its secret from ${ENV}."""

_WORKSPACE = """\
# The syncwell demo (written by `syncwell demo`; the ports are the sandbox's of this run).
# The story: leads arrive in the CRM and must reach the product and the email platform fast;
# the project tool syncs once every four hours. `syncwell check -w {path}` draws the map.
name: demo
core: core
systems:
  core:
    kind: sqlite
    path: core.db
  crm:
    kind: http
    base_url: {crm_url}
    auth: {{type: bearer, token: sandbox-crm-token}}
    rate_limit: {{per_second: 10}}
    streams:
      contacts:
        read:
          path: /v1/contacts
          params: {{limit: 100}}
          records: results
          pagination: {{style: cursor, cursor_path: paging.next.after, param: after}}
          incremental: {{param: updated_since, format: iso}}
        write:
          upsert:
            method: POST
            path: /v1/contacts/batch/upsert
            body: {{inputs: "{{{{records}}}}"}}
            item:
              email: "{{{{record.email}}}}"
              first_name: "{{{{record.first_name}}}}"
              last_name: "{{{{record.last_name}}}}"
              phone: "{{{{record.phone}}}}"
            max_batch: 100
          verify: {{path: "/v1/contacts/{{email}}"}}
          errors: {{path: errors, index: index, key: email, message: message}}
    webhooks:
      secret: {secret}
      streams: {{"contact.*": contacts}}
  email:
    kind: http
    base_url: {email_url}
    auth: {{type: api_key, header: X-Api-Key, key: sandbox-email-key}}
    streams:
      members:
        write:
          upsert:
            method: POST
            path: /api/lists/main/members:batch
            body: {{members: "{{{{records}}}}"}}
            item:
              email: "{{{{record.email}}}}"
              first_name: "{{{{record.first_name}}}}"
              last_name: "{{{{record.last_name}}}}"
              status: subscribed
            max_batch: 500
          verify: {{path: "/api/lists/main/members/{{email}}"}}
          errors: {{path: errors, index: index, key: email, message: message}}
  projects:
    kind: http
    base_url: {project_url}
    auth: {{type: basic, username: sandbox, password: sandbox-project-pass}}
    rate_limit: {{per_second: 2}}
    streams:
      tasks:
        read:
          path: /api/v2/tasks
          records: data
          total: total
          pagination: {{style: offset, offset_param: offset, limit_param: limit, page_size: 50}}
          incremental: {{param: modified_after, format: iso}}
flows:
  contacts_to_crm:          # the product's users, to sales
    source: core
    destination: crm
    stream: contacts
    key: email
    cursor: updated_at
    interval: 5s
    lookback: 30s           # the core commits at once; a short look-back saves re-reading
    fields: [email, first_name, last_name, phone, updated_at]
    deletes: {{detect: none}}  # the product never deletes a user; it marks them
    slo: {{freshness: 1m}}
  contacts_from_crm:        # leads and sales' edits, pushed by webhook, reconciled every minute
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
    interval: 1m
    fields: [email, first_name, last_name, phone, company_domain, lifecycle_stage, updated_at]
    deletes: {{detect: scan, every: 30m}}  # a lost contact.deleted webhook is found here
    slo: {{freshness: 1m}}
  audience:                 # everyone, to the email platform, in batches
    source: core
    destination: email
    stream: contacts
    target: members
    key: email
    cursor: updated_at
    mode: batch
    interval: 5m
    fields: [email, first_name, last_name, updated_at]
    deletes: {{detect: none}}
    slo: {{freshness: 15m}}
  tasks:                    # the slow one: the project tool, polled every four hours
    source: projects
    destination: core
    stream: tasks
    key: id
    cursor: modified_at
    interval: 4h
    deletes: {{detect: scan, every: 4h}}  # the tool deletes tasks outright, no tombstone
    slo: {{freshness: 30m}}
  onboarding_call:          # still done by hand: someone books the call in the project tool
    source: core
    destination: projects
    stream: contacts
    target: tasks
    key: email
    mode: manual
workflows:
  lead_to_inbox:
    description: A lead from the CRM reaches the product and the email platform.
    flows: [contacts_from_crm, audience]
  onboarding:
    description: A new customer's onboarding call is booked and tracked back in the product.
    flows: [onboarding_call, tasks]
"""


def write_workspace(folder: Path, endpoints: SandboxEndpoints) -> Path:
    """Write the workspace for the tools at `endpoints`; return its path."""
    path = folder / "syncwell.yaml"
    path.write_text(
        _WORKSPACE.format(
            path=path,
            crm_url=endpoints.crm_url,
            email_url=endpoints.email_url,
            project_url=endpoints.project_url,
            secret=WEBHOOK_SECRET,
        )
    )
    return path

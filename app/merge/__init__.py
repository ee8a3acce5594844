"""Dedupe and timeline rules: observations in, incidents out. Pure: no I/O, no clock.

One module a job: ``readings`` (the observation set, current readings, ranking), ``grouping``
(which messages are one incident), ``timeline`` (update lines), ``derived`` (earlier messages,
window, fallback) and ``incident`` (one incident's fields and its replay); this package root
names the API the pipeline (``app.ingest.decide``) and the tests use.

Design (see docs/urls.md, "Dedupe rules"):

* The state is a *set* of observations, each content kept once with the earliest
  ``observed_at`` (when it was first seen) and the latest ``last_seen_at`` (when it was last
  read). Every incident field is a function of that set, so merging is order-independent and
  idempotent by construction: ``merge(a ∪ b) == merge(b ∪ a)`` (min and max commute).
* Messages (oids) that share a primary INC/WO reference form one incident; its key is that
  reference (the smallest one if a message's reference ever changed), else ``oid:<N>``.
* Title, status, link and text come from the most recently updated message; within it from
  the observation ranked highest by (upstream last-updated, *current*, observed_at,
  detail > list > rss). An observation is current when it is the latest reading of its slot
  (message, source kind, language): a fresh reading supersedes what the same slot said before
  even when it equals content seen earlier, so a bad reading (a lying charset, junk) is
  replaced by the next good one. An observation without text (a summary-table row) never
  blanks the text.
* Systems, references and update lines are unions; ``published_at`` is the earliest creation.
* ``updated_at`` is the change time of the last observation that changed what subscribers see
  (title, status, systems, text, timeline): replaying the observations in change-time order,
  a poll that finds nothing new cannot move it. A status change, or a line of the timeline a
  page gained, that the upstream's last-updated time does not account for is dated when seen,
  as is an edit stamped earlier than a change dated so.
"""

from app.merge.grouping import group_oids
from app.merge.incident import derive_incident, derive_incidents
from app.merge.readings import add_observations

__all__ = ["add_observations", "derive_incident", "derive_incidents", "group_oids"]

"""Voice messages between a child and the adults allowed to reach them.

Decisions a reader needs before the code:

- Threads: a family thread per (child, verified guardian) and one school thread
  per (child, school) that any current staff member of the child's school may
  use. Psychologists reach children through help requests, never here.
  Threads are get-or-create (``POST /children/{id}/thread``); a child names the
  guardian, or none for the school thread.
- Access is re-checked on every request (``auth.policy.is_thread_participant``):
  a revoked link or withdrawn consent closes the thread for both sides at once.
  Outsiders get 404 for threads and messages alike.
- Messages are voice (an asset from the "message" upload purpose) with an
  optional caption of at most 200 characters. Listeners see them once ready;
  the sender sees their own in every state, with the failure reason.
- Progress: a play is a distinct client-made ``play_id``; heard intervals are a
  bounded union; the position only moves forward. The first progress report
  from a listener marks the message read.
- Deletion hides the message at once and enqueues ``messages.purge_audio``,
  which deletes the objects. A message becoming ready writes notifications (the
  child's feed, or the adults the child wrote to) in the same transaction.
"""

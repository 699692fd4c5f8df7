"""Every stories, story box and moderation route, as every role.

Setup publishes one public story (narrated by the psychologist, a verified
narrator) into a box assigned to child_a's class, plus a private story from
guardian_a to child_a, a rejected story and a draft no child may reach.
"""

from __future__ import annotations

from typing import Any

from tests.access.harness import Case, Req, World, register
from voicebridge.audio.models import AssetState, AudioAsset
from voicebridge.stories import boxes, service
from voicebridge.stories.models import Chapter, ChapterState, Story, Visibility

EVERYONE = {
    "child",
    "own_guardian",
    "other_guardian",
    "school_staff",
    "other_school_staff",
    "psychologist",
    "moderator",
    "admin",
}
ADULTS = EVERYONE - {"child"}
MODS = {"moderator", "admin"}


def _story(w: World, title: str, publish: bool, reject: bool = False) -> Story:
    narrator = w.psychologist
    if service.is_verified_narrator(w.session, narrator) is False:
        service.apply_as_narrator(w.session, narrator, "Dr Chen", "")
        service.verify_narrator(w.session, w.moderator, narrator.id, True)
    story = service.create_story(w.session, narrator, visibility=Visibility.public, title=title)
    _chapter(w, story)
    service.submit(w.session, story)
    if publish or reject:
        service.review(w.session, w.moderator, story, not reject, "noise" if reject else None)
    if publish:
        service.publish(w.session, story)
    return story


def _chapter(w: World, story: Story) -> Chapter:
    data = b"OggS" + b"\0" * 60
    info = w.store.put_bytes(f"playable/test/{story.id.hex}.opus", data, "audio/ogg")
    asset = AudioAsset(
        owner_id=story.narrator_id,
        purpose="story_chapter",
        state=AssetState.ready,
        playable_key=info.key,
        playable_size=len(data),
        playable_sha256=info.sha256,
        duration_ms=1000,
    )
    w.session.add(asset)
    w.session.flush()
    chapter = Chapter(
        story_id=story.id, number=1, title="One", asset_id=asset.id, state=ChapterState.ready
    )
    w.session.add(chapter)
    w.session.flush()
    return chapter


def setup(w: World) -> None:
    if "box" in w.extras:
        return
    public = _story(w, "Public", publish=True)
    box = boxes.create_box(w.session, w.moderator, "Box", "")
    boxes.add_story(w.session, box, public)
    boxes.assign(w.session, box, w.school_a.id, w.class_a.id)
    private = service.create_story(
        w.session,
        w.guardian_a,
        visibility=Visibility.private,
        title="Bedtime",
        child_ids=[w.child_a.id],
    )
    w.extras.update(
        box=box,
        public=public,
        private=private,
        private_chapter=_chapter(w, private),
        public_chapter=service.ready_chapters(w.session, public.id)[0],
        submitted=_story(w, "Waiting", publish=False),
        rejected=_story(w, "Rejected", publish=False, reject=True),
    )


def _first_hash(w: World) -> str:
    return boxes.story_hashes(w.session, _x(w, "public").id)[0]


def _x(w: World, key: str) -> Any:
    return w.extras[key]


S, B, M = "/api/v1/stories", "/api/v1/storyboxes", "/api/v1/moderation"


def case(method: str, path: str, build: Any, allowed: set[str], **kw: Any) -> None:
    register(Case(method=method, path=path, build=build, allowed=allowed, setup=setup, **kw))


case(
    "POST",
    f"{S}/narrators/me",
    lambda w: Req(url=f"{S}/narrators/me", json={"display_name": "X"}),
    ADULTS,
)
case("POST", f"{S}/series", lambda w: Req(url=f"{S}/series", json={"title": "S"}), ADULTS)
case(
    "POST",
    S,
    lambda w: Req(
        url=S, json={"visibility": "private", "title": "T", "child_ids": [str(w.child_a.id)]}
    ),
    {"own_guardian"},
)
case("GET", S, lambda w: Req(url=S), EVERYONE)
case(
    "GET",
    f"{S}/{{story_id}}",
    lambda w: Req(url=f"{S}/{_x(w, 'public').id}"),
    {"child", "psychologist", "moderator", "admin"},
)
case(
    "PATCH",
    f"{S}/{{story_id}}",
    lambda w: Req(url=f"{S}/{_x(w, 'private').id}", json={"title": "New"}),
    {"own_guardian"},
)
case(
    "POST",
    f"{S}/{{story_id}}/submit",
    lambda w: Req(url=f"{S}/{_x(w, 'rejected').id}/submit"),
    {"psychologist"},
)
case(
    "POST",
    f"{S}/{{story_id}}/publish",
    lambda w: Req(url=f"{S}/{_x(w, 'public').id}/publish"),
    set(),
    expect={"psychologist": 409, "moderator": 403, "admin": 403},
)
case(
    "GET",
    f"{S}/{{story_id}}/chapters/{{chapter_id}}/audio",
    lambda w: Req(url=f"{S}/{_x(w, 'private').id}/chapters/{_x(w, 'private_chapter').id}/audio"),
    {"child", "own_guardian"},
)
case(
    "PUT",
    f"{S}/{{story_id}}/chapters/{{chapter_id}}/progress",
    lambda w: Req(
        url=f"{S}/{_x(w, 'public').id}/chapters/{_x(w, 'public_chapter').id}/progress",
        json={"position_ms": 10},
    ),
    {"child"},
    expect={"psychologist": 403, "moderator": 403, "admin": 403},
)
case(
    "GET",
    f"{S}/{{story_id}}/chapters",
    lambda w: Req(url=f"{S}/{_x(w, 'private').id}/chapters"),
    {"own_guardian"},
    # The child hears the story but is not its narrator.
    expect={"child": 403},
)
case(
    "PUT",
    f"{S}/{{story_id}}/chapters/{{chapter_id}}/release",
    lambda w: Req(
        url=f"{S}/{_x(w, 'private').id}/chapters/{_x(w, 'private_chapter').id}/release",
        json={"release_at_local": "2030-06-01T20:30:00"},
    ),
    {"own_guardian"},
    expect={"child": 403},
)
case(
    "GET",
    f"{S}/{{story_id}}/figures",
    lambda w: Req(url=f"{S}/{_x(w, 'public').id}/figures"),
    {"psychologist", "moderator", "admin"},
    expect={"child": 403},
)
case(
    "GET",
    f"{M}/stories",
    lambda w: Req(url=f"{M}/stories"),
    MODS,
    expect=dict.fromkeys(EVERYONE - MODS, 403),
)
case(
    "POST",
    f"{M}/stories/{{story_id}}/approve",
    lambda w: Req(url=f"{M}/stories/{_x(w, 'submitted').id}/approve"),
    MODS,
    expect={"psychologist": 403},
)
case(
    "POST",
    f"{M}/stories/{{story_id}}/reject",
    lambda w: Req(url=f"{M}/stories/{_x(w, 'submitted').id}/reject", json={"reason": "no"}),
    MODS,
    expect={"psychologist": 403},
)
case(
    "POST",
    f"{M}/narrators/{{user_id}}/verify",
    lambda w: Req(url=f"{M}/narrators/{w.psychologist.id}/verify", json={"verified": True}),
    MODS,
    expect=dict.fromkeys(EVERYONE - MODS, 403),
)
case(
    "POST",
    B,
    lambda w: Req(url=B, json={"title": "B"}),
    MODS,
    expect=dict.fromkeys(EVERYONE - MODS, 403),
)
case("GET", B, lambda w: Req(url=B), EVERYONE)
case(
    "GET",
    f"{B}/{{box_id}}",
    lambda w: Req(url=f"{B}/{_x(w, 'box').id}"),
    {"child", "school_staff", "moderator", "admin"},
)
case(
    "POST",
    f"{B}/{{box_id}}/stories",
    lambda w: Req(url=f"{B}/{_x(w, 'box').id}/stories", json={"story_id": str(_x(w, "public").id)}),
    set(),
    expect={"moderator": 409, "admin": 409, "child": 403, "school_staff": 403},
)
case(
    "DELETE",
    f"{B}/{{box_id}}/stories/{{story_id}}",
    lambda w: Req(url=f"{B}/{_x(w, 'box').id}/stories/{_x(w, 'rejected').id}"),
    set(),
    expect={"moderator": 404, "admin": 404, "child": 403, "school_staff": 403},
)
case(
    "POST",
    f"{B}/{{box_id}}/assignments",
    lambda w: Req(url=f"{B}/{_x(w, 'box').id}/assignments", json={"school_id": str(w.school_b.id)}),
    MODS,
    expect={"child": 403, "school_staff": 403},
)
case(
    "GET",
    f"{B}/{{box_id}}/bundle",
    lambda w: Req(url=f"{B}/{_x(w, 'box').id}/bundle"),
    {"school_staff", "moderator", "admin"},
    expect={"child": 403},
)
case(
    "GET",
    f"{B}/{{box_id}}/sync/manifest",
    lambda w: Req(
        url=f"{B}/{_x(w, 'box').id}/sync/manifest",
        headers={"X-Device-Token": w.device_a_token},
        replace_auth=True,
    ),
    EVERYONE | {"anonymous"},
    note="device token: every caller's request carries school A's device credential",
)
case(
    "GET",
    f"{B}/{{box_id}}/sync/files/{{sha256}}",
    lambda w: Req(
        url=f"{B}/{_x(w, 'box').id}/sync/files/{_first_hash(w)}",
        headers={"X-Device-Token": w.device_a_token},
        replace_auth=True,
    ),
    EVERYONE | {"anonymous"},
    note="device token",
)

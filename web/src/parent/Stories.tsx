/**
 * A parent's bedtime stories for one child: start a private story, add
 * chapters by recording (the same recorder and outbox as messages) or from a
 * file, release each chapter at the child's bedtime on the school's clock, and
 * see which chapters the child heard.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, type Schemas, api, call } from "../lib/api/client";
import { formatDuration, lang, t } from "../lib/i18n";
import { Player } from "../lib/Player";
import { Link, type Params, navigate } from "../lib/router";
import { ErrorNote, NotFound, Page, Spinner } from "../lib/ui";
import { addFile } from "../lib/uploads";
import { explain } from "./account";
import { formatSchoolTime, nextBedtime, toSchoolFields } from "./bedtime";
import { Gate } from "./Gate";
import { Outbox, useOutbox } from "./Outbox";
import { RecorderPanel } from "./Recorder";

type Story = Schemas["StoryPublic"];
type Chapters = Schemas["StoryChapters"];
type Chapter = Schemas["ChapterStatus"];

function StoryList(props: { childId: string }) {
  const [child, setChild] = useState<Schemas["LinkedChild"] | null>(null);
  const [stories, setStories] = useState<Story[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    call(api.GET("/api/v1/me/children")).then((children) => {
      const found = children.find((c) => c.child_id === props.childId);
      if (!found) return setMissing(true);
      setChild(found);
    }, (e) => setError(explain(e)));
    call(api.GET("/api/v1/stories")).then(
      (all) => setStories(all.filter((s) => s.visibility === "private" && (s.child_ids ?? []).includes(props.childId))),
      (e) => setError(explain(e)),
    );
  }, [props.childId]);

  async function create(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const story = await call(
        api.POST("/api/v1/stories", {
          body: {
            visibility: "private",
            title: title.trim(),
            child_ids: [props.childId],
            description: "",
            language: lang() === "en" ? "en" : "zh",
            age_min: 3,
            age_max: 15,
          },
        }),
      );
      navigate(`/parent/stories/${story.id}`);
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  }

  if (missing) return <NotFound />;
  if (!child || !stories) {
    return (
      <Page title={t("stories.parent.title")} back="/parent">
        {error ? <ErrorNote error={error} /> : <Spinner label={t("loading")} />}
      </Page>
    );
  }
  return (
    <Page title={t("stories.parent.for", { name: child.given_name })} back={`/parent/child/${props.childId}`}>
      {stories.length === 0 ? <p class="lead">{t("stories.parent.none")}</p> : null}
      <ul class="list" aria-label={t("stories.parent.title")}>
        {stories.map((s) => (
          <li key={s.id}>
            <Link class="card row spread" href={`/parent/stories/${s.id}`} data-testid="parent-story" style={{ textDecoration: "none", color: "inherit" }}>
              <strong>🌙 {s.title}</strong>
              <span class="muted">{t("stories.parent.chapters", { n: s.chapters.length })}</span>
            </Link>
          </li>
        ))}
      </ul>
      <form class="card" onSubmit={create}>
        <h2>{t("stories.parent.new")}</h2>
        <label for="story-title">{t("stories.parent.storyTitle")}</label>
        <input id="story-title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        <ErrorNote error={error} />
        <button type="submit" data-testid="create-story" disabled={busy || !title.trim()}>{t("stories.parent.create")}</button>
      </form>
    </Page>
  );
}

/** Date and time fields on the school's clock, with "tonight at bedtime". */
function ReleaseFields(props: {
  idPrefix: string;
  value: { date: string; time: string };
  onChange: (value: { date: string; time: string }) => void;
  info: Chapters;
}) {
  const { idPrefix, value, info } = props;
  return (
    <fieldset class="release">
      <legend>{t("stories.parent.release")}</legend>
      <div class="row">
        <span>
          <label for={`${idPrefix}-date`}>{t("stories.parent.date")}</label>
          <input id={`${idPrefix}-date`} type="date" required value={value.date} onInput={(e) => props.onChange({ ...value, date: e.currentTarget.value })} />
        </span>
        <span>
          <label for={`${idPrefix}-time`}>{t("stories.parent.time")}</label>
          <input id={`${idPrefix}-time`} type="time" required value={value.time} onInput={(e) => props.onChange({ ...value, time: e.currentTarget.value })} />
        </span>
      </div>
      <p class="muted">{t("stories.parent.schoolTime", { tz: info.timezone })}</p>
      <button type="button" class="link" onClick={() => props.onChange(nextBedtime(info.timezone, info.listening_hours))}>
        🌙 {t("stories.parent.bedtime")}
      </button>
    </fieldset>
  );
}

function Heard(props: { listener: Chapter["listeners"][number]; durationMs: number }) {
  const l = props.listener;
  if (l.finished) {
    return <p class="ok" data-testid="chapter-heard" data-heard="yes">✓ {t("stories.parent.heard", { name: l.given_name })}</p>;
  }
  if (l.heard_ms > 0) {
    return (
      <p data-testid="chapter-heard" data-heard="partly">
        {t("stories.parent.heardPart", { name: l.given_name, heard: formatDuration(l.heard_ms), total: formatDuration(props.durationMs) })}
      </p>
    );
  }
  return <p class="muted" data-testid="chapter-heard" data-heard="no">{t("stories.parent.notHeard", { name: l.given_name })}</p>;
}

function ChapterItem(props: { story: Story; chapter: Chapter; info: Chapters; onChange: (c: Chapter) => void }) {
  const { chapter: c, info } = props;
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(() =>
    c.release_at ? toSchoolFields(c.release_at, info.timezone) : nextBedtime(info.timezone, info.listening_hours),
  );
  const [error, setError] = useState<string | null>(null);

  async function schedule(local: string | null) {
    setError(null);
    try {
      const updated = await call(
        api.PUT("/api/v1/stories/{story_id}/chapters/{chapter_id}/release", {
          params: { path: { story_id: props.story.id, chapter_id: c.id } },
          body: { release_at_local: local },
        }),
      );
      setEditing(false);
      props.onChange(updated);
    } catch (e) {
      setError(explain(e));
    }
  }

  return (
    <li class="card" data-testid="story-chapter" data-state={c.state} data-released={String(c.released)}>
      <h3>{t("stories.chapter", { n: c.number })} · {c.title}</h3>
      {c.state === "processing" ? <p class="state">{t("outbox.processing")}</p> : null}
      {c.state === "failed" ? <p class="error">{t("stories.parent.failed")}</p> : null}
      {c.state === "ready" ? (
        <Player src={`/api/v1/stories/${props.story.id}/chapters/${c.id}/audio`} durationMs={c.duration_ms ?? 0} label={t("stories.parent.listen", { n: c.number })} />
      ) : null}
      <p data-testid="chapter-release">
        {c.released
          ? t("stories.parent.released")
          : t("stories.parent.scheduled", { time: formatSchoolTime(c.release_at!, info.timezone) })}
      </p>
      {c.listeners.map((l) => (
        <Heard key={l.child_id} listener={l} durationMs={c.duration_ms ?? 0} />
      ))}
      {editing ? (
        <form onSubmit={(e) => { e.preventDefault(); void schedule(`${value.date}T${value.time}`); }}>
          <ReleaseFields idPrefix={`release-${c.number}`} value={value} onChange={setValue} info={info} />
          <ErrorNote error={error} />
          <div class="row">
            <button type="submit" data-testid="save-release">{t("stories.parent.save")}</button>
            <button type="button" class="secondary" data-testid="release-now" onClick={() => void schedule(null)}>{t("stories.parent.now")}</button>
          </div>
        </form>
      ) : (
        <button type="button" class="secondary" data-testid="schedule" onClick={() => setEditing(true)}>🌙 {t("stories.parent.schedule")}</button>
      )}
    </li>
  );
}

function AddChapter(props: { story: Story; info: Chapters }) {
  const { story, info } = props;
  const [title, setTitle] = useState("");
  const [release, setRelease] = useState(() => nextBedtime(info.timezone, info.listening_hours));
  // Read when a recording starts or a file is chosen, so the chapter is created already scheduled.
  const meta = (): Record<string, string> => ({
    chapter_title: title.trim(),
    release_at_local: `${release.date}T${release.time}`,
  });
  const label = title.trim() || story.title;
  return (
    <section class="card" aria-labelledby="add-chapter">
      <h2 id="add-chapter">{t("stories.parent.addChapter")}</h2>
      <label for="chapter-title">{t("stories.parent.chapterTitle")}</label>
      <input id="chapter-title" maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <ReleaseFields idPrefix="new-chapter" value={release} onChange={setRelease} info={info} />
      <RecorderPanel hold={false} long={t("stories.parent.record")} target={{ purpose: "story_chapter", target: story.id, label, meta }} />
      <label for="chapter-file">{t("stories.parent.file")}</label>
      <input
        id="chapter-file"
        type="file"
        accept="audio/*,.m4a,.mp3,.amr,.3gp,.wav,.ogg,.webm"
        data-testid="chapter-file"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) {
            void addFile({ id: crypto.randomUUID(), purpose: "story_chapter", target: story.id, label, meta: meta() }, file);
            e.currentTarget.value = "";
          }
        }}
      />
    </section>
  );
}

function StoryView(props: { storyId: string }) {
  const [story, setStory] = useState<Story | null>(null);
  const [info, setInfo] = useState<Chapters | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const outbox = useOutbox();

  async function refresh(): Promise<void> {
    const path = { params: { path: { story_id: props.storyId } } };
    try {
      const [s, c] = await Promise.all([
        call(api.GET("/api/v1/stories/{story_id}", path)),
        call(api.GET("/api/v1/stories/{story_id}/chapters", path)),
      ]);
      setStory(s);
      setInfo(c);
    } catch (e) {
      if (e instanceof ApiError && e.status < 500) setMissing(true);
      else setError(explain(e));
    }
  }
  useEffect(() => {
    void refresh();
  }, [props.storyId]);
  // A chapter that finished uploading or processing shows up in the list.
  const settled = outbox.filter((i) => i.target === props.storyId && (i.state === "processing" || i.state === "ready")).map((i) => i.state).join();
  useEffect(() => {
    if (settled) void refresh();
  }, [settled]);

  if (missing) return <NotFound />;
  if (!story || !info) {
    return (
      <Page title={t("stories.parent.title")} back="/parent">
        {error ? <ErrorNote error={error} /> : <Spinner label={t("loading")} />}
      </Page>
    );
  }
  const childId = story.child_ids?.[0];
  const back = childId ? `/parent/child/${childId}/stories` : "/parent";
  return (
    <Page title={`🌙 ${story.title}`} back={back}>
      <ol class="list" aria-label={t("stories.parent.chapterList")}>
        {info.chapters.length === 0 ? <li class="muted">{t("stories.parent.noChapters")}</li> : null}
        {info.chapters.map((c) => (
          <ChapterItem
            key={c.id}
            story={story}
            chapter={c}
            info={info}
            onChange={(updated) => setInfo({ ...info, chapters: info.chapters.map((x) => (x.id === updated.id ? updated : x)) })}
          />
        ))}
      </ol>
      <button type="button" class="link" data-testid="refresh-chapters" onClick={() => void refresh()}>{t("thread.refresh")}</button>
      <Outbox target={story.id} />
      <AddChapter story={story} info={info} />
    </Page>
  );
}

export function ChildStories(props: { params: Params }) {
  return (
    <Gate>
      <StoryList childId={props.params.childId!} />
    </Gate>
  );
}

export function StoryPage(props: { params: Params }) {
  return (
    <Gate>
      <StoryView storyId={props.params.storyId!} />
    </Gate>
  );
}

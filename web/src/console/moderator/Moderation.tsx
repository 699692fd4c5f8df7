/**
 * Moderators: psychologists waiting for verification, and stories waiting for
 * review with a player and waveform per chapter; a rejection's reason is what
 * the narrator reads.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { t } from "../../lib/i18n";
import { useLive } from "../../lib/live";
import { Player } from "../../lib/Player";
import { ErrorNote } from "../../lib/ui";
import { Shell } from "../Shell";

type StoryPublic = Schemas["StoryPublic"];
type Profile = Schemas["ProfilePublic"];

function Story(props: { story: StoryPublic; onDone: () => void }) {
  const { story } = props;
  const [reason, setReason] = useState("");
  const [played, setPlayed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { story_id: story.id } } };
  async function approve() {
    try {
      await call(api.POST("/api/v1/moderation/stories/{story_id}/approve", path));
      props.onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  async function reject(event: Event) {
    event.preventDefault();
    try {
      await call(api.POST("/api/v1/moderation/stories/{story_id}/reject", { ...path, body: { reason } }));
      props.onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <li class="card" data-testid="review-story" data-story={story.id}>
      <h3>{story.title}</h3>
      <p class="muted">{story.narrator} · {story.age_min}–{story.age_max} · {story.language}</p>
      <p>{story.description}</p>
      {story.chapters.map((chapter) => (
        <div key={chapter.id}>
          <p>{chapter.number}. {chapter.title}</p>
          <Player
            src={`/api/v1/stories/${story.id}/chapters/${chapter.id}/audio`}
            durationMs={chapter.duration_ms ?? 0}
            peaks={chapter.peaks}
            label={t("console.moderation.play", { title: chapter.title })}
            onEnded={() => setPlayed(true)}
          />
        </div>
      ))}
      <div class="row">
        <button type="button" data-testid="approve-story" onClick={() => void approve()}>
          {t("console.moderation.approve")}
        </button>
        {played ? <span class="ok">{t("console.moderation.heard")}</span> : null}
      </div>
      <form onSubmit={reject}>
        <label for={`reason-${story.id}`}>{t("console.moderation.reason")}</label>
        <textarea id={`reason-${story.id}`} rows={2} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <button type="submit" class="danger">{t("console.moderation.reject")}</button>
      </form>
      <ErrorNote error={error} />
    </li>
  );
}

function Applicant(props: { profile: Profile; onDone: () => void }) {
  const [supervisor, setSupervisor] = useState(false);
  async function decide(decision: "verified" | "rejected") {
    await api.POST("/api/v1/psychologists/{user_id}/verification", {
      params: { path: { user_id: props.profile.user_id } },
      body: { decision, is_supervisor: supervisor },
    });
    props.onDone();
  }
  const id = `sup-${props.profile.user_id}`;
  return (
    <li class="card">
      <strong>{props.profile.display_name}</strong>
      <p>{props.profile.credentials}</p>
      <p class="muted">{props.profile.languages.join(", ")} · {props.profile.specialties.join(", ")}</p>
      <label class="check" for={id}>
        <input id={id} type="checkbox" checked={supervisor} onChange={(e) => setSupervisor(e.currentTarget.checked)} />
        {t("console.moderation.supervisor")}
      </label>
      <div class="row">
        <button type="button" onClick={() => void decide("verified")}>{t("console.moderation.verify")}</button>
        <button type="button" class="danger" onClick={() => void decide("rejected")}>{t("console.moderation.refuse")}</button>
      </div>
    </li>
  );
}

export function Moderation() {
  const [stories, setStories] = useState<StoryPublic[]>([]);
  const [applicants, setApplicants] = useState<Profile[]>([]);
  async function refresh() {
    const [s, p] = await Promise.all([
      api.GET("/api/v1/moderation/stories"),
      api.GET("/api/v1/psychologists", { params: { query: { verification: "pending" } } }),
    ]);
    setStories(s.data ?? []);
    setApplicants(p.data ?? []);
  }
  useEffect(() => void refresh(), []);
  useLive(["moderation."], () => void refresh());
  return (
    <Shell title={t("console.moderation.title")} roles={["moderator", "admin"]}>
      <section aria-labelledby="stories-h">
        <h2 id="stories-h">{t("console.moderation.stories")}</h2>
        {stories.length ? (
          <ul class="list">{stories.map((s) => <Story key={s.id} story={s} onDone={() => void refresh()} />)}</ul>
        ) : (
          <p class="muted">{t("console.moderation.none")}</p>
        )}
      </section>
      <section aria-labelledby="psy-h">
        <h2 id="psy-h">{t("console.moderation.psychologists")}</h2>
        {applicants.length ? (
          <ul class="list">{applicants.map((p) => <Applicant key={p.user_id} profile={p} onDone={() => void refresh()} />)}</ul>
        ) : (
          <p class="muted">{t("console.moderation.none")}</p>
        )}
      </section>
    </Shell>
  );
}

// The video page: the transcript follows the player, and the player follows the transcript.
// - a click on a segment seeks the player to it;
// - the segment being spoken is highlighted as the video plays (timeupdate; seeking updates it too);
// - ?t=SECONDS or #t=SECONDS opens the player at that second (and a new #t= seeks again);
// - when the browser cannot play the media, the page says so (the transcript stays).
"use strict";
(function () {
  const player = document.getElementById("player");
  const segments = Array.from(document.querySelectorAll("#transcript .segment"));
  let current = segments.find((s) => s.classList.contains("current")) || null;

  function secondsFrom(text) {
    if (text === null || text === "") return null;
    const value = Number(text);
    return Number.isFinite(value) && value >= 0 ? value : null;
  }

  function requestedStart() {
    const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("t");
    const fromQuery = new URLSearchParams(window.location.search).get("t");
    const hash = secondsFrom(fromHash);
    return hash !== null ? hash : secondsFrom(fromQuery);
  }

  function segmentAt(time) {
    // The last segment that has started by then, while it lasts.
    let found = null;
    for (const segment of segments) {
      if (Number(segment.dataset.start) <= time) found = segment;
    }
    return found && time < Number(found.dataset.end) ? found : null;
  }

  function highlight(time) {
    const next = segmentAt(time);
    if (next === current) return;
    if (current) {
      current.classList.remove("current");
      current.removeAttribute("aria-current");
    }
    current = next;
    if (current) {
      current.classList.add("current");
      current.setAttribute("aria-current", "true");
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function seek(time) {
    if (player) player.currentTime = time;
    highlight(time);
  }

  function cannotPlay() {
    const notice = document.getElementById("player-error");
    if (notice) notice.hidden = false;
    if (player) player.classList.add("unplayable");
  }

  for (const segment of segments) {
    segment.addEventListener("click", () => seek(Number(segment.dataset.start)));
  }
  if (!player) return;
  player.addEventListener("timeupdate", () => highlight(player.currentTime));
  player.addEventListener("error", cannotPlay);
  if (player.error) cannotPlay(); // it may have failed before this script ran

  const start = requestedStart();
  if (start !== null) {
    if (player.readyState >= HTMLMediaElement.HAVE_METADATA) seek(start);
    else player.addEventListener("loadedmetadata", () => seek(start), { once: true });
  }
  window.addEventListener("hashchange", () => {
    const time = secondsFrom(new URLSearchParams(window.location.hash.slice(1)).get("t"));
    if (time !== null) seek(time);
  });
})();

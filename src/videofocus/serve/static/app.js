// The videofocus web page: ask the server's /v1/chat/completions (streaming) about a video or image
// and draw each round as it arrives. Model output is shown with textContent only (never as HTML).
"use strict";

const $ = (id) => document.getElementById(id);
let modelId = null;

function headers() {
  const key = $("api-key").value.trim();
  return key ? { "Content-Type": "application/json", Authorization: `Bearer ${key}` }
             : { "Content-Type": "application/json" };
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

async function loadServerInfo() {
  const models = await fetch("/v1/models", { headers: headers() });
  if (!models.ok) { setStatus("enter the API key to use this server", true); return; }
  modelId = (await models.json()).data[0].id;
  $("model").textContent = modelId;
  const media = await (await fetch("/v1/media", { headers: headers() })).json();
  const pick = $("media-pick");
  pick.length = 1;
  for (const item of media.data) {
    const option = element("option", null, `${item.path} (${item.type})`);
    option.value = item.path;
    option.dataset.type = item.type;
    pick.appendChild(option);
  }
  setStatus("");
}

function readAsDataURL(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function mediaPart() {
  const file = $("media-file").files[0];
  if (file) {
    const kind = file.type.startsWith("image/") ? "image" : "video";
    return { type: `${kind}_url`, [`${kind}_url`]: { url: await readAsDataURL(file) } };
  }
  const chosen = $("media-pick").selectedOptions[0];
  if (!chosen || !chosen.value) throw new Error("pick or upload a video or image");
  const kind = chosen.dataset.type;
  return { type: `${kind}_url`, [`${kind}_url`]: { url: chosen.value } };
}

// ----- drawing the rounds ------------------------------------------------------------------------

const state = { media: null, preview: null };

function percent(value, total) { return `${(100 * value / total).toFixed(3)}%`; }

function timeline(round) {
  const duration = state.media.duration || 1;
  const bar = element("div", "timeline");
  for (const [start, end] of round.view.focus || []) {
    const band = element("div", "focus");
    band.style.left = percent(start, duration);
    band.style.width = percent(end - start, duration);
    bar.appendChild(band);
  }
  for (const [start, end] of round.intervals || []) {
    const clue = element("div", "clue");
    clue.title = `clue ${start.toFixed(2)}–${end.toFixed(2)} s`;
    clue.style.left = percent(Math.max(0, start), duration);
    clue.style.width = percent(Math.max(0, Math.min(end, duration) - Math.max(0, start)), duration);
    bar.appendChild(clue);
  }
  for (const time of round.view.timestamps) {
    const tick = element("div", "tick");
    tick.style.left = percent(time, duration);
    bar.appendChild(tick);
  }
  for (const [time, align] of [[0, "left"], [duration, "right"]]) {
    const label = element("span", "label", `${time.toFixed(1)} s`);
    label.style[align] = "0";
    bar.appendChild(label);
  }
  return bar;
}

function frameStrip(frames) {
  const strip = element("div", "frames");
  for (const frame of frames || []) {
    const figure = element("figure");
    const image = element("img");
    image.src = frame.url;
    image.alt = `frame at ${frame.t.toFixed(2)} s`;
    figure.append(image, element("figcaption", null, `${frame.t.toFixed(2)} s`));
    strip.appendChild(figure);
  }
  return strip;
}

function boxOverlay(round) {
  const [width, height] = round.view.image_size;
  const picture = element("div", "picture");
  const image = element("img");
  if (state.preview) image.src = state.preview;
  image.alt = "the image";
  picture.appendChild(image);
  const place = (box, className, title) => {
    const [x0, y0, x1, y1] = box;
    const node = element("div", className);
    node.title = title;
    Object.assign(node.style, { left: percent(x0, width), top: percent(y0, height),
                                width: percent(x1 - x0, width), height: percent(y1 - y0, height) });
    picture.appendChild(node);
  };
  for (const crop of round.view.crops || []) place(crop, "crop", "crop shown to the model");
  for (const box of round.boxes || []) place(box, "box", "clue box");
  return picture;
}

function renderRound(round) {
  const card = element("article", "round");
  card.dataset.round = round.round;
  const cost = round.cost;
  card.appendChild(element("h3", null, `Round ${round.round}`));
  if (round.fallback) card.appendChild(element("p", "note", round.fallback));
  card.appendChild(round.view.media_type === "video" ? timeline(round) : boxOverlay(round));
  if (round.view.media_type === "video") card.appendChild(frameStrip(round.frames));
  card.appendChild(element("p", "answer", `Answer: ${round.option || round.answer || "(none readable)"}`));
  const think = element("details", "think");
  think.append(element("summary", null, "think"), element("pre", null, round.think || round.output));
  card.appendChild(think);
  card.appendChild(element("p", "cost", cost.reused ? "reused the previous round's output"
    : `${cost.frames} ${round.view.media_type === "video" ? "frame" : "image"}(s) · ${cost.prompt_tokens} prompt + ${cost.completion_tokens} completion tokens · `
      + `${cost.seconds.toFixed(2)} s`));
  $("rounds-view").appendChild(card);
}

function handleChunk(chunk) {
  if (chunk.error) throw new Error(chunk.error.message);
  const extension = chunk.videofocus || {};
  if (extension.media) state.media = extension.media;
  if (extension.preview) state.preview = extension.preview;
  if (extension.round) renderRound(extension.round);
  const choice = chunk.choices[0];
  if (choice.finish_reason) {
    $("final-answer").textContent = choice.delta.content;
    $("final").hidden = false;
  }
}

async function readStream(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trim()).join("\n");
      if (data === "[DONE]") return;
      if (data) handleChunk(JSON.parse(data));
    }
  }
}

async function ask(event) {
  event.preventDefault();
  $("rounds-view").replaceChildren();
  $("final").hidden = true;
  Object.assign(state, { media: null, preview: null });
  try {
    if (!modelId) await loadServerInfo();
    setStatus("sending…");
    const options = $("options").value.split("\n").map((line) => line.trim()).filter(Boolean);
    const body = {
      model: modelId, stream: true,
      messages: [{ role: "user", content: [await mediaPart(), { type: "text", text: $("question").value }] }],
      videofocus: { thumbnails: true, rounds: Number($("rounds").value), ...(options.length ? { options } : {}) },
    };
    const response = await fetch("/v1/chat/completions", { method: "POST", headers: headers(),
                                                           body: JSON.stringify(body) });
    if (!response.ok) throw new Error((await response.json()).error.message);
    setStatus("looking…");
    await readStream(response);
    setStatus("done");
  } catch (error) {
    setStatus(error.message, true);
  }
}

$("ask-form").addEventListener("submit", ask);
$("api-key").addEventListener("change", () => loadServerInfo().catch((error) => setStatus(error.message, true)));
loadServerInfo().catch((error) => setStatus(error.message, true));

// The web page's behaviour: plain browser JavaScript, no build step. It talks to the same public API
// as any client: POST /predict/combined?similar=k and GET /search.
'use strict';

const $ = (id) => document.getElementById(id);
let photo = null;
let previewUrl = null;

// What to tell the user when an error answer carries no message of the API's own (a proxy's HTML page,
// an empty body): the status alone says what to do.
const STATUS_MESSAGES = {
  413: 'The photo or the description is too large for the API; choose a smaller photo (or shorten the text) and try again.',
  415: 'That file is not a photo the API can read; choose a JPEG, PNG, WebP, GIF, TIFF or AVIF image.',
  429: 'Too many requests from this browser; wait a minute and try again.',
  503: 'The service is unavailable right now (starting, loading its models or restarting); try again in a few seconds.',
};

function showError(el, message) {
  el.textContent = message;
  el.hidden = !message;
}

async function callApi(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    // fetch's own TypeError ("Failed to fetch") says nothing a user can act on.
    throw new Error('The API could not be reached, or it closed the connection (a photo over the upload limit can do that); check the photo and your connection, then try again.');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const own = body && typeof body.message === 'string' && body.message ? body.message : null;
    throw new Error(own ?? STATUS_MESSAGES[res.status] ?? `The server answered HTTP ${res.status}; try again later.`);
  }
  if (body === null) throw new Error(`The server answered HTTP ${res.status} without a readable body; try again later.`);
  return body;
}

function formatPrice(price) {
  return price === null || price === undefined ? '' : `£${Number(price).toLocaleString('en-GB', { maximumFractionDigits: 2 })}`;
}

function card(item) {
  const a = document.createElement('a');
  a.className = 'card';
  a.href = item.url;
  a.title = `${item.name ?? item.id} (similarity ${item.score.toFixed(3)})`;
  const pic = item.photoUrl ? document.createElement('img') : document.createElement('div');
  if (item.photoUrl) {
    pic.src = item.photoUrl;
    pic.alt = item.name ?? '';
    pic.loading = 'lazy';
  } else {
    pic.className = 'nophoto';
    pic.textContent = 'no photo';
  }
  const meta = document.createElement('div');
  meta.className = 'meta';
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = item.name ?? item.id;
  const detail = document.createElement('div');
  detail.className = 'muted';
  detail.textContent = [formatPrice(item.price), item.category].filter(Boolean).join(' · ');
  meta.append(name, detail);
  a.append(pic, meta);
  return a;
}

function renderCards(container, items) {
  container.replaceChildren(...items.map(card));
}

function renderBars(probabilities, top) {
  const rows = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  $('bars').replaceChildren(
    ...rows.map(([name, p]) => {
      const li = document.createElement('li');
      li.className = name === top ? 'bar top' : 'bar';
      const label = document.createElement('span');
      label.textContent = name;
      const track = document.createElement('span');
      track.className = 'track';
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.display = 'block';
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      track.append(fill);
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = `${(p * 100).toFixed(1)}%`;
      li.append(label, track, pct);
      return li;
    }),
  );
}

function setPhoto(file) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  photo = file ?? null;
  const preview = $('preview');
  if (photo) {
    previewUrl = URL.createObjectURL(photo);
    preview.src = previewUrl;
  } else {
    preview.removeAttribute('src');
    $('photo').value = '';
  }
  preview.hidden = !photo;
  $('clear-photo').hidden = !photo;
  $('drop-hint').textContent = photo ? photo.name : 'Drop a photo here, or click to choose one';
}

function setUpDrop() {
  const drop = $('drop');
  // Cancelling the file dialog keeps the photo chosen before; "Remove the photo" drops it.
  $('photo').addEventListener('change', (e) => {
    if (e.target.files[0]) setPhoto(e.target.files[0]);
  });
  $('clear-photo').addEventListener('click', () => setPhoto(null));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) setPhoto(e.dataTransfer.files[0]);
  });
}

async function onPredict(e) {
  e.preventDefault();
  const text = $('text').value.trim();
  showError($('predict-error'), '');
  // An answer about the previous photo or text must not stay on screen beside this request's outcome.
  $('result').hidden = true;
  if (!photo && !text) {
    showError($('predict-error'), 'Add a photo or a description first.');
    return;
  }
  const form = new FormData();
  if (photo) form.append('image', photo);
  if (text) form.append('text', text);
  const button = $('predict-button');
  button.disabled = true;
  try {
    const answer = await callApi('/predict/combined?similar=8', { method: 'POST', body: form });
    $('category').textContent = answer.Category;
    $('modality').textContent = `(from ${answer.modality === 'combined' ? 'photo and text' : answer.modality})`;
    renderBars(answer.Probabilities, answer.Category);
    renderCards($('similar'), answer.similar ?? []);
    $('result').hidden = false;
  } catch (err) {
    showError($('predict-error'), err.message);
  } finally {
    button.disabled = false;
  }
}

async function onSearch(e) {
  e.preventDefault();
  const q = $('q').value.trim();
  showError($('search-error'), '');
  $('search-summary').hidden = true;
  $('search-results').replaceChildren();
  if (!q) return;
  try {
    const answer = await callApi(`/search?k=12&q=${encodeURIComponent(q)}`);
    $('search-summary').textContent = `${answer.results.length} listings; the query reads as ${answer.queryCategory}.`;
    $('search-summary').hidden = false;
    renderCards($('search-results'), answer.results);
  } catch (err) {
    showError($('search-error'), err.message);
  }
}

setUpDrop();
$('predict-form').addEventListener('submit', onPredict);
$('search-form').addEventListener('submit', onSearch);

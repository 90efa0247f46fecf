// The web page's behaviour: plain browser JavaScript, no build step. It talks to the same public API
// as any client: POST /predict/combined?similar=k and GET /search.
'use strict';

const $ = (id) => document.getElementById(id);
let photo = null;

function showError(el, message) {
  el.textContent = message;
  el.hidden = !message;
}

async function callApi(url, init) {
  const res = await fetch(url, init);
  const body = await res.json().catch(() => ({ message: `The server answered HTTP ${res.status}.` }));
  if (!res.ok) throw new Error(body.message || `The server answered HTTP ${res.status}.`);
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
  if (!file) return;
  photo = file;
  const preview = $('preview');
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  $('drop-hint').textContent = file.name;
}

function setUpDrop() {
  const drop = $('drop');
  $('photo').addEventListener('change', (e) => setPhoto(e.target.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    setPhoto(e.dataTransfer.files[0]);
  });
}

async function onPredict(e) {
  e.preventDefault();
  const text = $('text').value.trim();
  showError($('predict-error'), '');
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

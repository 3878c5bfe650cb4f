/**
 * The playground: one self-contained page (no framework, no external assets, so it works
 * offline) that exercises both browser clients: `fetch` + reader on POST /api/completions/stream,
 * and EventSource on a link from POST /api/streams. The script is plain ES2020 and runs as is.
 */
export const playgroundPage = (nonce: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gateway playground</title>
<style nonce="${nonce}">
  :root { font: 15px/1.5 system-ui, sans-serif; color: #1d232b; background: #f5f6f8; }
  main { max-width: 760px; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  label { display: block; font-size: .85rem; color: #4b5563; margin: .6rem 0 .2rem; }
  textarea, select, input { width: 100%; box-sizing: border-box; font: inherit; padding: .45rem .6rem;
    border: 1px solid #c8ced6; border-radius: 6px; background: #fff; }
  textarea { min-height: 5.5rem; resize: vertical; }
  .row { display: flex; gap: .8rem; } .row > div { flex: 1; }
  .actions { display: flex; gap: .6rem; margin: 1rem 0; }
  button { font: inherit; padding: .45rem 1.2rem; border-radius: 6px; border: 1px solid #1f6feb;
    background: #1f6feb; color: #fff; cursor: pointer; }
  button#stop { background: #fff; color: #b42318; border-color: #b42318; }
  button:disabled { opacity: .45; cursor: default; }
  #output { white-space: pre-wrap; min-height: 6rem; padding: .8rem; background: #fff;
    border: 1px solid #c8ced6; border-radius: 6px; }
  #usage { font-size: .85rem; color: #4b5563; margin-top: .5rem; min-height: 1.3rem; }
  #error { color: #b42318; margin-top: .5rem; min-height: 1.3rem; }
</style>
</head>
<body>
<main>
  <h1>Gateway playground</h1>
  <label for="prompt">Prompt</label>
  <textarea id="prompt">Write a short story about a robot.</textarea>
  <div class="row">
    <div><label for="model">Model</label><select id="model"></select></div>
    <div><label for="transport">Client</label>
      <select id="transport">
        <option value="fetch">fetch + reader (POST stream)</option>
        <option value="eventsource">EventSource (signed link)</option>
      </select></div>
    <div><label for="key">Gateway key (if required)</label><input id="key" type="password" autocomplete="off"></div>
  </div>
  <div class="actions"><button id="send">Send</button><button id="stop" disabled>Stop</button></div>
  <div id="output" aria-live="polite"></div>
  <div id="usage"></div>
  <div id="error" role="alert"></div>
</main>
<script nonce="${nonce}">
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var stopCurrent = null;
  var keyInput = $('key');
  keyInput.value = sessionStorage.getItem('gateway-key') || '';

  function headers() {
    var h = { 'Content-Type': 'application/json' };
    if (keyInput.value) h.Authorization = 'Bearer ' + keyInput.value;
    return h;
  }
  function body() {
    var request = { messages: [{ role: 'user', content: $('prompt').value }] };
    if ($('model').value) request.model = $('model').value;
    return JSON.stringify(request);
  }
  async function failure(response) {
    try { return (await response.json()).error.message; } catch (e) { return 'HTTP ' + response.status; }
  }
  function onFrame(event, data) {
    if (data === '[DONE]') return true;
    var payload = JSON.parse(data);
    if (event === 'error') throw new Error(payload.error.message);
    if (event === 'usage') {
      var u = payload.usage;
      $('usage').textContent = u
        ? 'Usage: ' + u.prompt_tokens + ' prompt + ' + u.completion_tokens + ' completion = ' + u.total_tokens + ' tokens (' + payload.finish_reason + ')'
        : 'Usage: not reported (' + payload.finish_reason + ')';
    } else {
      $('output').textContent += payload.content;
    }
    return false;
  }

  async function viaFetch() {
    var controller = new AbortController();
    stopCurrent = function () { controller.abort(); };
    var response = await fetch('/api/completions/stream', { method: 'POST', headers: headers(), body: body(), signal: controller.signal });
    if (!response.ok) throw new Error(await failure(response));
    var reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = '';
    for (;;) {
      var next = await reader.read();
      if (next.done) return;
      buffer += next.value;
      var end;
      while ((end = buffer.indexOf('\\n\\n')) !== -1) {
        var frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        var event = 'message', data = '';
        frame.split('\\n').forEach(function (line) {
          if (line.indexOf('event: ') === 0) event = line.slice(7);
          else if (line.indexOf('data: ') === 0) data += line.slice(6);
        });
        if (data && onFrame(event, data)) return;
      }
    }
  }

  async function viaEventSource() {
    var response = await fetch('/api/streams', { method: 'POST', headers: headers(), body: body() });
    if (!response.ok) throw new Error(await failure(response));
    var link = await response.json();
    return new Promise(function (resolve, reject) {
      var source = new EventSource(link.url);
      var finish = function (error) { source.close(); error ? reject(error) : resolve(); };
      stopCurrent = function () { finish(new DOMException('Stopped', 'AbortError')); };
      var handle = function (event) {
        try { if (onFrame(event.type, event.data)) finish(); } catch (error) { finish(error); }
      };
      source.addEventListener('message', handle);
      source.addEventListener('usage', handle);
      source.addEventListener('error', function (event) {
        if (event.data) return handle(event);
        // No data and CONNECTING: the connection dropped and EventSource reconnects by itself,
        // with Last-Event-ID, and the stream goes on where it stopped. CLOSED: it gave up (a 204).
        if (source.readyState === EventSource.CONNECTING) return;
        finish(new Error('The stream closed'));
      });
    });
  }

  $('send').addEventListener('click', async function () {
    sessionStorage.setItem('gateway-key', keyInput.value);
    $('output').textContent = ''; $('usage').textContent = ''; $('error').textContent = '';
    $('send').disabled = true; $('stop').disabled = false;
    document.body.dataset.state = 'streaming';
    try {
      await ($('transport').value === 'eventsource' ? viaEventSource() : viaFetch());
      document.body.dataset.state = 'done';
    } catch (error) {
      if (error.name === 'AbortError') { document.body.dataset.state = 'stopped'; }
      else { $('error').textContent = error.message; document.body.dataset.state = 'error'; }
    } finally {
      $('send').disabled = false; $('stop').disabled = true; stopCurrent = null;
    }
  });
  $('stop').addEventListener('click', function () {
    if (stopCurrent) stopCurrent();
    document.body.dataset.state = 'stopped';
  });

  fetch('/v1/models', { headers: headers() })
    .then(function (r) { return r.ok ? r.json() : { data: [] }; })
    .then(function (list) {
      list.data.forEach(function (model) {
        var option = document.createElement('option');
        option.value = option.textContent = model.id;
        $('model').appendChild(option);
      });
    })
    .catch(function () {});
})();
</script>
</body>
</html>
`;

// The camera scanner every staff scanning page shares (the event gate, the card check, the
// voucher counter, the partner check): reads QR codes from the phone's camera or from a photo,
// with the browser's own detector when it has one and the zxing decoder otherwise. The markup
// comes from templates/_scanner.html; each page keeps its text field for typing or pasting a
// code. Camera errors say what to do instead; a torch button shows when the camera has a light.
const REPEAT_MS = 3000; // a code held in front of the camera is read once
const DECODE_SCALES = [1, 0.6, 0.4, 0.8, 0.5, 0.7, 0.35, 0.9];
const MIN_DECODE_SIDE = 120;
const FRAME_MS = 100;

let detectorPromise = null;
let zxingPromise = null;

function nativeDetector() {
  detectorPromise = detectorPromise || (async () => {
    if (!("BarcodeDetector" in window)) { return null; }
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch (err) {
      return null;
    }
  })();
  return detectorPromise;
}

function zxing(url) {
  if (window.ZXing) { return Promise.resolve(window.ZXing); }
  zxingPromise = zxingPromise || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.ZXing);
    script.onerror = () => { zxingPromise = null; reject(new Error("QR decoder not loaded")); };
    document.head.append(script);
  });
  return zxingPromise;
}

async function decodeCanvas(canvas, zxingUrl) {
  const ZXing = await zxing(zxingUrl);
  const hints = new Map([[ZXing.DecodeHintType.TRY_HARDER, true]]);
  const bitmap = new ZXing.BinaryBitmap(
    new ZXing.HybridBinarizer(new ZXing.HTMLCanvasElementLuminanceSource(canvas)));
  try {
    return new ZXing.QRCodeReader().decode(bitmap, hints).getText();
  } catch (err) {
    return null; // no code in this image
  }
}

/**
 * The text of a QR code in an image (video frame, photo), or null. The JavaScript decoder
 * misses some codes at some sizes (its module-size estimate), so it tries ``scales`` of the
 * image in turn; the camera tries one scale per frame.
 */
export async function decodeImage(image, canvas, maxSide, scales, zxingUrl) {
  const detector = await nativeDetector();
  if (detector) {
    try {
      const codes = await detector.detect(image);
      return codes.length ? codes[0].rawValue : null;
    } catch (err) { /* fall back to the JavaScript decoder */ }
  }
  const width = image.videoWidth || image.width;
  const height = image.videoHeight || image.height;
  if (!width || !height) { return null; }
  const fit = Math.min(1, maxSide / Math.max(width, height));
  for (const scale of scales) {
    canvas.width = Math.round(width * fit * scale);
    canvas.height = Math.round(height * fit * scale);
    if (Math.min(canvas.width, canvas.height) < MIN_DECODE_SIDE) { continue; }
    canvas.getContext("2d", { willReadFrequently: true }).drawImage(image, 0, 0, canvas.width, canvas.height);
    const text = await decodeCanvas(canvas, zxingUrl);
    if (text) { return text; }
  }
  return null;
}

// What the camera's failure means for the person holding the phone.
function cameraProblem(err, t) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") { return t.cameraBlocked; }
  if (name === "NotFoundError" || name === "OverconstrainedError") { return t.noCamera; }
  if (name === "NotReadableError" || name === "AbortError") { return t.cameraBusy; }
  return t.cameraError;
}

/**
 * Start the scanner in ``box`` (a [data-scanner] element). ``onCode(text, fromCamera)`` gets
 * each code read (a code the camera keeps seeing, once); ``onProblem(text)`` a photo without a
 * code. Resolves nothing; returns {stop}.
 */
export function mountScanner(box, { onCode, onProblem, onStart }) {
  const cfg = box.dataset;
  const t = {
    cameraError: cfg.tCameraError,
    cameraBlocked: cfg.tCameraBlocked || cfg.tCameraError,
    noCamera: cfg.tNoCamera || cfg.tCameraError,
    cameraBusy: cfg.tCameraBusy || cfg.tCameraError,
    insecure: cfg.tInsecure || cfg.tCameraError,
    noCode: cfg.tNoCode,
    torchOn: cfg.tTorchOn,
    torchOff: cfg.tTorchOff,
  };
  const find = (name) => box.querySelector(`[data-scanner-${name}]`);
  const videoBox = find("video-box");
  const video = find("video");
  const startButton = find("start");
  const stopButton = find("stop");
  const torchButton = find("torch");
  const errorLine = find("error");
  const photo = find("photo");
  let stream = null;
  let scanning = false;
  let torch = false;
  let lastCode = "";
  let lastCodeAt = 0;

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = false;
  }

  function fromCamera(text) {
    const seenAgain = text === lastCode && Date.now() - lastCodeAt < REPEAT_MS;
    lastCode = text;
    lastCodeAt = Date.now(); // still in view: keep ignoring it until it has been away a while
    return seenAgain ? null : onCode(text, true);
  }

  function setTorch(on) {
    const [track] = stream ? stream.getVideoTracks() : [];
    if (!track) { return; }
    track.applyConstraints({ advanced: [{ torch: on }] })
      .then(() => {
        torch = on;
        torchButton.textContent = on ? t.torchOff : t.torchOn;
        torchButton.setAttribute("aria-pressed", String(on));
      })
      .catch(() => { torchButton.hidden = true; });
  }

  async function start() {
    errorLine.hidden = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } }, audio: false,
      });
      video.srcObject = stream;
      await video.play();
    } catch (err) {
      stop();
      showError(cameraProblem(err, t));
      return;
    }
    videoBox.hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    const [track] = stream.getVideoTracks();
    const capabilities = track && track.getCapabilities ? track.getCapabilities() : {};
    torchButton.hidden = !capabilities.torch;
    if (onStart) { onStart(); }
    scanning = true;
    const canvas = document.createElement("canvas");
    let frame = 0;
    while (scanning) {
      if (video.readyState >= 2) {
        const scale = DECODE_SCALES[frame % DECODE_SCALES.length];
        frame += 1;
        const code = await decodeImage(video, canvas, 800, [scale], cfg.zxingUrl).catch(() => null);
        if (code && scanning) { await fromCamera(code); }
      }
      await new Promise((resolve) => setTimeout(resolve, FRAME_MS));
    }
  }

  function stop() {
    scanning = false;
    if (torch) { setTorch(false); }
    if (stream) { stream.getTracks().forEach((track) => track.stop()); }
    stream = null;
    video.srcObject = null;
    videoBox.hidden = true;
    torchButton.hidden = true;
    startButton.hidden = false;
    stopButton.hidden = true;
  }

  box.hidden = false;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    // Browsers offer the camera on https pages (and localhost) only.
    startButton.hidden = true;
    showError(window.isSecureContext ? t.noCamera : t.insecure);
  }
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  torchButton.addEventListener("click", () => setTorch(!torch));
  photo.addEventListener("change", async () => {
    const file = photo.files && photo.files[0];
    if (!file) { return; }
    try {
      const image = await createImageBitmap(file);
      const code = await decodeImage(image, document.createElement("canvas"), 1600, DECODE_SCALES, cfg.zxingUrl);
      if (code) { await onCode(code, false); } else { onProblem(t.noCode); }
    } catch (err) {
      onProblem(t.noCode);
    } finally {
      photo.value = "";
    }
  });
  return { stop };
}

/**
 * The scanner of a page with a plain form (card check, voucher counter, partner check): a code
 * read fills the form's field and sends the form, as if typed.
 */
export function mountFormScanner(box) {
  const form = document.getElementById(box.dataset.form);
  const field = form && form.querySelector("textarea, input[type=text], input:not([type])");
  if (!field) { return null; }
  const problem = (text) => {
    const line = box.querySelector("[data-scanner-error]");
    line.textContent = text;
    line.hidden = false;
  };
  // Keyboard-wedge scanners type the code and press Enter.
  if (field.tagName === "TEXTAREA") {
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
  return mountScanner(box, {
    onCode(text) {
      field.value = text.trim();
      form.requestSubmit();
    },
    onProblem: problem,
  });
}

for (const box of document.querySelectorAll("[data-scanner][data-form]")) { mountFormScanner(box); }

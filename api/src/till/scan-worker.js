// Decodes QR codes in camera frames off the page's main thread, with the
// vendored jsQR (see THIRD_PARTY.md). Used when the browser has no
// BarcodeDetector for QR codes. Message in: {id, width, height, data} with
// data the RGBA pixels (an ArrayBuffer, transferred); out: {id, text} with
// text null when no code was found.
/* global jsQR */
importScripts("/till/jsQR.js");

self.onmessage = (event) => {
  const { id, width, height, data } = event.data;
  let text = null;
  try {
    const found = jsQR(new Uint8ClampedArray(data), width, height, {
      inversionAttempts: "attemptBoth",
    });
    if (found && typeof found.data === "string" && found.data.length > 0) text = found.data;
  } catch (_) {
    text = null;
  }
  self.postMessage({ id, text });
};

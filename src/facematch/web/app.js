// facematch demo page: a plain client of the public v2 endpoint.
// It POSTs the two images as multipart files (format_type=file) with HTTP
// Basic credentials and renders the v2 envelope. No server logic of its own.
"use strict";

(function () {
  // Relative to /demo/, so the page also works under a path prefix.
  const ENDPOINT = "../api/v2/ekyc/face_matching";

  const I18N = {
    en: {
      title: "Face matching demo",
      subtitle: "Compare the face on an ID card (CMND/CCCD) with a portrait, through the public v2 API.",
      img1Card: "Image 1: ID card photo",
      img1Portrait: "Image 1: portrait",
      img1Chip: "Image 1: the chip's DG2 (as read over NFC)",
      img2: "Image 2: portrait",
      dropHint: "Drop an image here, or click to choose a file",
      takePhoto: "Take a photo",
      type1: "Image 1 is",
      card: "an ID card (card)",
      portrait: "a portrait (portrait)",
      chip: "the CCCD chip's portrait, DG2 (chip)",
      sod: "EF.SOD (optional: verifies the chip's signature)",
      chipResult: "chip",
      credentials: "API key",
      submit: "Compare",
      working: "Comparing…",
      matching: "Matching",
      decision: { "1": "Same person (match = 1)", "0": "Uncertain, review it (match = 0)", "-1": "Different people (match = -1)" },
      face1: "face1",
      face2: "face2",
      score: "score",
      invalid: "invalidCode",
      warnings: "Warnings",
      noWarnings: "No warnings.",
      code: "Code", message: "Message", check: "Check", image: "Image", value: "Value", limit: "Limit",
      rawResponse: "Raw response",
      requestId: "request_id", distance: "distance", calibration: "calibration", network: "network", http: "HTTP status", elapsed: "time",
      errorCode: "errorCode",
      missingImages: "Choose both images first.",
      missingKey: "Enter api_key and api_secret (the demo key is printed when the service first starts).",
      networkError: "Could not reach the service:",
      badResponse: "The service answered something that is not a v2 response (HTTP {status}).",
      capture: "Capture", cancel: "Cancel",
      cameraUnavailable: "The camera cannot be opened here (it needs HTTPS or localhost, and your permission).",
      footer: "Images are sent only to this service, which keeps neither images nor face data.",
      // The contract's messages are English; these are their Vietnamese counterparts (by code).
      errors: {},
      invalids: {},
    },
    vi: {
      title: "Thử nghiệm so khớp khuôn mặt",
      subtitle: "So sánh khuôn mặt trên giấy tờ tùy thân (CMND/CCCD) với ảnh chân dung, qua API v2 công khai.",
      img1Card: "Ảnh 1: ảnh giấy tờ tùy thân",
      img1Portrait: "Ảnh 1: ảnh chân dung",
      img1Chip: "Ảnh 1: DG2 của chip (đọc qua NFC)",
      img2: "Ảnh 2: ảnh chân dung",
      dropHint: "Kéo thả ảnh vào đây, hoặc bấm để chọn tệp",
      takePhoto: "Chụp ảnh",
      type1: "Ảnh 1 là",
      card: "giấy tờ tùy thân (card)",
      portrait: "ảnh chân dung (portrait)",
      chip: "ảnh chân dung trong chip CCCD, DG2 (chip)",
      sod: "EF.SOD (tùy chọn: xác thực chữ ký của chip)",
      chipResult: "chip",
      credentials: "Khóa API",
      submit: "So khớp",
      working: "Đang so khớp…",
      matching: "Độ tương đồng",
      decision: { "1": "Cùng một người (match = 1)", "0": "Chưa chắc chắn, cần xem lại (match = 0)", "-1": "Khác người (match = -1)" },
      face1: "face1",
      face2: "face2",
      score: "độ tin cậy",
      invalid: "invalidCode",
      warnings: "Cảnh báo",
      noWarnings: "Không có cảnh báo.",
      code: "Mã", message: "Thông báo", check: "Phép kiểm tra", image: "Ảnh", value: "Giá trị", limit: "Ngưỡng",
      rawResponse: "Phản hồi gốc",
      requestId: "request_id", distance: "khoảng cách", calibration: "hiệu chuẩn", network: "mạng nhúng", http: "mã HTTP", elapsed: "thời gian",
      errorCode: "errorCode",
      missingImages: "Hãy chọn đủ hai ảnh.",
      missingKey: "Hãy nhập api_key và api_secret (khóa demo được in ra khi dịch vụ khởi động lần đầu).",
      networkError: "Không kết nối được dịch vụ:",
      badResponse: "Dịch vụ trả về nội dung không phải phản hồi v2 (HTTP {status}).",
      capture: "Chụp", cancel: "Hủy",
      cameraUnavailable: "Không mở được camera ở đây (cần HTTPS hoặc localhost, và quyền truy cập camera).",
      footer: "Ảnh chỉ được gửi tới dịch vụ này; dịch vụ không lưu ảnh hay dữ liệu khuôn mặt.",
      errors: {
        "0": "Thành công",
        "1": "Ảnh không có nội dung (thiếu, rỗng hoặc không đọc được)",
        "2": "Không tải được ảnh từ URL",
        "3": "Sai định dạng ảnh (không có khuôn mặt người)",
        "4": "Đã hết lượt yêu cầu",
        "5": "Sai api_key hoặc api_secret",
        "6": "Sai format_type",
        "503": "Dịch vụ tạm thời không khả dụng, hãy thử lại",
      },
      invalids: {
        "0": "Hợp lệ",
        "1": "Ảnh không phải giấy tờ tùy thân",
        "2": "Ảnh là bản photocopy của giấy tờ tùy thân",
        "3": "Ảnh giấy tờ tùy thân có dấu hiệu bị chỉnh sửa, giả mạo",
        "4": "Ảnh giấy tờ tùy thân không có khuôn mặt",
        "5": "Ảnh chân dung không có khuôn mặt",
        "6": "Ảnh có nhiều hơn một khuôn mặt",
        "7": "Đeo kính râm",
        "8": "Đội mũ",
        "9": "Đeo khẩu trang",
        "10": "Ảnh chụp lại từ ảnh hoặc màn hình, bị mờ, nhiễu hoặc có dấu hiệu gian lận",
        "11": "Khuôn mặt trong ảnh quá nhỏ",
        "12": "Khuôn mặt trong ảnh chân dung quá sát mép ảnh",
      },
    },
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    lang: pickLanguage(),
    images: { 1: null, 2: null },   // Blob per slot
    previews: { 1: null, 2: null }, // object URLs to revoke
    last: null,                     // { body, status, ms } of the last response
    cameraSlot: null,
    stream: null,
  };

  function pickLanguage() {
    let saved = null;
    try { saved = window.localStorage.getItem("facematch.lang"); } catch (e) { /* storage disabled */ }
    if (saved === "vi" || saved === "en") return saved;
    return (navigator.language || "").toLowerCase().startsWith("vi") ? "vi" : "en";
  }

  function t(key) {
    const v = I18N[state.lang][key];
    return v === undefined ? I18N.en[key] : v;
  }

  // English messages are the contract's own (as the service sent them);
  // Vietnamese ones are looked up by code, falling back to the service's text.
  function errorMessage(code, fromServer) {
    return state.lang === "vi" ? (I18N.vi.errors[code] || fromServer) : fromServer;
  }
  function invalidMessage(code, fromServer) {
    return state.lang === "vi" ? (I18N.vi.invalids[code] || fromServer) : fromServer;
  }

  function setLanguage(lang) {
    state.lang = lang;
    try { window.localStorage.setItem("facematch.lang", lang); } catch (e) { /* storage disabled */ }
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      const v = t(el.dataset.i18n);
      if (typeof v === "string") el.textContent = v;
    });
    document.querySelectorAll(".lang button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    });
    updateSlotTitle();
    document.title = t("title");
    if (state.last) render(state.last);
  }

  function type1() {
    return document.querySelector('input[name="type1"]:checked').value;
  }

  function updateSlotTitle() {
    const kind = type1();
    $("slot1-title").textContent = t(kind === "card" ? "img1Card" : kind === "chip" ? "img1Chip" : "img1Portrait");
    $("sod-row").hidden = kind !== "chip";
    $("file1").accept = kind === "chip" ? "" : "image/*"; // a DG2 is not an image file
  }

  // --- choosing images: file picker, drag and drop, webcam ------------------

  function setImage(slot, blob, name) {
    if (!blob || !blob.size) return; // the service itself says what it cannot read (errorCode 1)
    state.images[slot] = blob;
    if (state.previews[slot]) URL.revokeObjectURL(state.previews[slot]);
    state.previews[slot] = URL.createObjectURL(blob);
    const img = $("preview" + slot);
    img.src = state.previews[slot];
    img.hidden = false;
    $("drop" + slot).classList.add("has-image");
    $("name" + slot).textContent = name || "";
    hideFormError();
  }

  function wireSlot(slot) {
    const input = $("file" + slot);
    const drop = $("drop" + slot);
    input.addEventListener("change", () => {
      if (input.files && input.files[0]) setImage(slot, input.files[0], input.files[0].name);
    });
    ["dragenter", "dragover"].forEach((ev) => drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add("dragging");
    }));
    ["dragleave", "dragend"].forEach((ev) => drop.addEventListener(ev, () => drop.classList.remove("dragging")));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("dragging");
      const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (file) setImage(slot, file, file.name);
    });
  }

  async function openCamera(slot) {
    const dialog = $("camera-dialog");
    const err = $("camera-error");
    state.cameraSlot = slot;
    err.hidden = true;
    $("camera-capture").disabled = true;
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      err.textContent = t("cameraUnavailable");
      err.hidden = false;
      return;
    }
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false });
      $("camera-video").srcObject = state.stream;
      $("camera-capture").disabled = false;
    } catch (e) {
      err.textContent = t("cameraUnavailable") + " (" + e.name + ")";
      err.hidden = false;
    }
  }

  function closeCamera() {
    if (state.stream) state.stream.getTracks().forEach((tr) => tr.stop());
    state.stream = null;
    $("camera-video").srcObject = null;
    const dialog = $("camera-dialog");
    if (typeof dialog.close === "function" && dialog.open) dialog.close(); else dialog.removeAttribute("open");
  }

  function capture() {
    const video = $("camera-video");
    if (!video.videoWidth) return;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const slot = state.cameraSlot;
    canvas.toBlob((blob) => {
      setImage(slot, blob, "webcam.jpg");
      closeCamera();
    }, "image/jpeg", 0.92);
  }

  // --- calling the API ------------------------------------------------------

  function basicAuth(user, password) {
    // UTF-8 safe base64 of "user:password".
    const bytes = new TextEncoder().encode(user + ":" + password);
    let bin = "";
    bytes.forEach((b) => { bin += String.fromCharCode(b); });
    return "Basic " + btoa(bin);
  }

  function showFormError(text) {
    const el = $("form-error");
    el.textContent = text;
    el.hidden = false;
  }
  function hideFormError() { $("form-error").hidden = true; }

  async function submit(e) {
    e.preventDefault();
    hideFormError();
    if (!state.images[1] || !state.images[2]) { showFormError(t("missingImages")); return; }
    const key = $("api-key").value.trim();
    const secret = $("api-secret").value;
    if (!key || !secret) { showFormError(t("missingKey")); return; }
    try { window.sessionStorage.setItem("facematch.api_key", key); } catch (err) { /* storage disabled */ }

    const form = new FormData();
    form.append("img1", state.images[1], filename(state.images[1], "img1"));
    form.append("img2", state.images[2], filename(state.images[2], "img2"));
    const sod = $("sod-file").files && $("sod-file").files[0];
    if (type1() === "chip" && sod) form.append("sod", sod, sod.name || "sod.bin");
    const url = ENDPOINT + "?type1=" + encodeURIComponent(type1()) + "&format_type=file";
    const button = $("submit");
    button.disabled = true;
    button.textContent = t("working");
    $("result").dataset.state = "loading";
    const started = performance.now();
    try {
      // credentials "omit": a 401 must not pop the browser's own login dialog;
      // the Authorization header set here is still sent.
      const resp = await fetch(url, {
        method: "POST", body: form, credentials: "omit", cache: "no-store",
        headers: { Authorization: basicAuth(key, secret), Accept: "application/json" },
      });
      const ms = Math.round(performance.now() - started);
      let body = null;
      try { body = await resp.json(); } catch (err) { body = null; }
      if (!body || typeof body !== "object" || !("errorCode" in body)) {
        state.last = null;
        $("result").hidden = true;
        showFormError(t("badResponse").replace("{status}", String(resp.status)));
        return;
      }
      state.last = { body: body, status: resp.status, ms: ms, requestId: resp.headers.get("X-Request-ID") };
      render(state.last);
    } catch (err) {
      state.last = null;
      showFormError(t("networkError") + " " + err.message);
    } finally {
      button.disabled = false;
      button.textContent = t("submit");
      if ($("result").dataset.state === "loading") $("result").dataset.state = "error";
    }
  }

  function filename(blob, fallback) {
    if (blob.name) return blob.name;
    const ext = (blob.type || "image/jpeg").split("/")[1] || "jpg";
    return fallback + "." + ext;
  }

  // --- rendering the envelope -----------------------------------------------

  function text(tag, value, className) {
    const el = document.createElement(tag);
    el.textContent = value === null || value === undefined ? "" : String(value);
    if (className) el.className = className;
    return el;
  }

  function showCrop(n, data) {
    const img = $("face" + n);
    const b64 = data["face" + n];
    if (b64) {
      img.src = "data:image/jpeg;base64," + b64;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    const score = data["face" + n + "_score"];
    $("face" + n + "-score").textContent = score ? "(" + t("score") + " " + score + ")" : "";
  }

  function render(last) {
    const body = last.body;
    const data = body.data || {};
    const code = String(body.errorCode);
    const result = $("result");
    result.hidden = false;
    result.dataset.errorCode = code;

    const status = $("status");
    status.replaceChildren(
      text("span", t("errorCode") + " " + code, "code"),
      text("span", errorMessage(code, body.errorMessage), "message"));
    status.className = "status " + (code === "0" ? "ok" : "fail");
    status.dataset.errorCode = code;

    const matching = data.matching || "";
    $("matching").textContent = matching || "–";
    $("matching-meter").value = matching ? parseFloat(matching) : 0;

    const decision = $("decision");
    const m = data.match || "";
    decision.textContent = m ? t("decision")[m] || m : "";
    decision.dataset.match = m;
    decision.hidden = !m;

    showCrop(1, data);
    showCrop(2, data);

    const inv = $("invalid");
    const ic = data.invalidCode || "";
    inv.textContent = ic ? t("invalid") + " " + ic + ": " + invalidMessage(ic, data.invalidMessage) : "";
    inv.dataset.invalidCode = ic;
    inv.className = "invalid " + (ic && ic !== "0" ? "warn" : "");

    const warnings = Array.isArray(data.warnings) ? data.warnings : [];
    const tbody = $("warnings").querySelector("tbody");
    tbody.replaceChildren(...warnings.map((w) => {
      const tr = document.createElement("tr");
      tr.dataset.code = String(w.code);
      tr.append(
        text("td", w.code),
        text("td", invalidMessage(String(w.code), w.message), "message"),
        text("td", w.check),
        text("td", w.image),
        text("td", w.value === null ? "–" : w.value),
        text("td", w.limit === null ? "–" : w.limit));
      return tr;
    }));
    $("warnings").hidden = warnings.length === 0;
    $("no-warnings").hidden = warnings.length !== 0;

    const meta = $("meta");
    const rows = [
      [t("requestId"), data.request_id || last.requestId],
      [t("distance"), data.distance],
      [t("calibration"), data.calibration],
      [t("network"), data.network],
      [t("chipResult"), data.chip ? data.chip.status + (data.chip.verified ? " ✓" : "") : ""],
      [t("http"), last.status],
      [t("elapsed"), last.ms + " ms"],
    ].filter((r) => r[1] !== undefined && r[1] !== null && r[1] !== "");
    meta.replaceChildren(...rows.flatMap((r) => [text("dt", r[0]), text("dd", r[1])]));

    // The raw envelope, with the long base64 crops shortened for reading.
    const shown = JSON.parse(JSON.stringify(body));
    ["face1", "face2"].forEach((k) => {
      if (shown.data && shown.data[k] && shown.data[k].length > 60) {
        shown.data[k] = shown.data[k].slice(0, 40) + "… (" + shown.data[k].length + " chars)";
      }
    });
    $("raw").textContent = JSON.stringify(shown, null, 2);
    result.dataset.state = "done";
  }

  // --- start ------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    wireSlot(1);
    wireSlot(2);
    document.querySelectorAll(".lang button").forEach((b) => b.addEventListener("click", () => setLanguage(b.dataset.lang)));
    document.querySelectorAll('input[name="type1"]').forEach((r) => r.addEventListener("change", updateSlotTitle));
    document.querySelectorAll("button.camera").forEach((b) => b.addEventListener("click", () => openCamera(Number(b.dataset.slot))));
    $("camera-capture").addEventListener("click", capture);
    $("camera-cancel").addEventListener("click", closeCamera);
    $("camera-dialog").addEventListener("cancel", closeCamera);
    $("match-form").addEventListener("submit", submit);
    try {
      const key = window.sessionStorage.getItem("facematch.api_key");
      if (key) $("api-key").value = key;
    } catch (e) { /* storage disabled */ }
    setLanguage(state.lang);
    document.body.dataset.ready = "true";
  });
})();

// The page around edgeport.js: pictures dropped, picked or drawn, each shown as the model saw it
// with its top classes and a bar for every class's probability (the tutorial's plot_value_array).
"use strict";

(() => {
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const percent = (p) => `${(100 * p).toFixed(1)} %`;

  edgeport.ready.then((facts) => {
    status.textContent = `${facts.file}: ${facts.classes} classes, ${facts.height}x${facts.width}`
      + `${facts.channels > 1 ? `x${facts.channels}` : ""} pictures, ${facts.quantization}; ready.`;
    document.body.dataset.ready = "true";
    sketchPad(facts);
  }, (error) => {
    status.textContent = `The model could not be loaded: ${error.message}`;
    status.classList.add("error");
    document.body.dataset.ready = "error";
  });

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // What the model saw: the fitted pixels, drawn at their own size and scaled up by CSS.
  function seen(pixels, facts) {
    const canvas = element("canvas", "seen");
    canvas.width = facts.width;
    canvas.height = facts.height;
    const context = canvas.getContext("2d");
    const image = context.createImageData(facts.width, facts.height);
    for (let i = 0; i < facts.width * facts.height; i++) {
      for (let c = 0; c < 3; c++) image.data[4 * i + c] = pixels[i * facts.channels + (facts.channels === 3 ? c : 0)];
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  function bars(probabilities, label, facts) {
    const chart = element("div", "bars");
    probabilities.forEach((p, i) => {
      const rowClass = i === label ? "winner" : "";
      const bar = element("div", `bar ${rowClass}`);
      const fill = element("span");
      fill.style.width = `${Math.max(0, Math.min(100, 100 * p))}%`;
      bar.append(fill);
      chart.append(element("span", rowClass, facts.classNames[i]), bar, element("span", `value ${rowClass}`, percent(p)));
    });
    return chart;
  }

  async function show(source, name) {
    const card = element("article", "card");
    card.append(element("h2", "", name));
    results.prepend(card);
    try {
      const facts = await edgeport.ready;
      const result = await edgeport.predictPicture(source);
      const order = result.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
      card.append(seen(result.pixels, facts), element("p", "answer", `${result.className} (${percent(result.confidence)})`));
      const others = order.slice(1, 3).map(([p, i]) => `${facts.classNames[i]} ${percent(p)}`).join(", ");
      card.append(element("p", "others", `then ${others}${result.inverted ? "; inverted: light background" : ""}`));
      card.append(bars(result.probabilities, result.label, facts));
      Object.assign(card.dataset, { className: result.className, label: result.label, confidence: result.confidence });
    } catch (error) {
      card.classList.add("error");
      card.append(element("p", "", error.message));
      card.dataset.error = error.message;
    }
  }

  async function showFiles(files) {
    for (const file of files) await show(file, file.name);
  }

  const drop = document.getElementById("drop");
  const pick = document.getElementById("pick");
  pick.addEventListener("change", () => { showFiles(Array.from(pick.files)); pick.value = ""; });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    showFiles(Array.from(event.dataTransfer.files));
  });

  // Drawing: light ink on black for a model trained on dark backgrounds, dark ink on white otherwise.
  function sketchPad(facts) {
    const canvas = document.getElementById("sketch");
    const context = canvas.getContext("2d");
    const dark = facts.background === "dark";
    const clear = () => {
      context.fillStyle = dark ? "#000" : "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
    };
    clear();
    let last = null;
    const at = (event) => {
      const box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
    };
    canvas.addEventListener("pointerdown", (event) => { last = at(event); canvas.setPointerCapture(event.pointerId); });
    canvas.addEventListener("pointermove", (event) => {
      if (!last) return;
      const next = at(event);
      Object.assign(context, { strokeStyle: dark ? "#fff" : "#000", lineWidth: 18, lineCap: "round", lineJoin: "round" });
      context.beginPath();
      context.moveTo(...last);
      context.lineTo(...next);
      context.stroke();
      last = next;
    });
    canvas.addEventListener("pointerup", () => { last = null; });
    document.getElementById("clear").addEventListener("click", clear);
    document.getElementById("predict-drawing").addEventListener("click", () => show(canvas, "your drawing"));
  }
})();

// Draws each anywidget of a page from the widget state the page stores, as soon as the page's
// parser reaches its place: the first plot shows with the text around it, before the widget
// manager (manager.js, which loads after the page is parsed) has started. The manager then puts
// the live widget in the preview's place. Only anywidgets are drawn, whose code the state holds;
// the ipywidgets controls around them come with the live widget, so a widget that puts its plot
// first keeps the plot where it is.
(() => {
  const VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';
  const STATE = 'script[type="application/vnd.jupyter.widget-state+json"]';
  let stored;

  /** The states of the anywidgets shown by model `id` and the boxes it holds, in order. */
  function anywidgets(id) {
    stored ??= JSON.parse(document.querySelector(STATE)?.textContent ?? '{"state": {}}').state;
    const model = stored[id];
    if (!model) return [];
    if (model.model_module === "anywidget") return [model.state];
    const children = model.state.children ?? [];
    return children.flatMap((child) => anywidgets(child.replace(/^IPY_MODEL_/, "")));
  }

  /**
   * The widget's module. One whose only export is its default, with no imports, runs at once,
   * as a function: an import() would wait for the page's parser to finish the rest of the page.
   */
  async function load(esm) {
    if (!/^\s*(import\b|export\s+(?!default\b))/m.test(esm)) {
      const body = esm.replace(/^export\s+default\s+/m, "return ");
      return { default: new Function(`"use strict";\n${body}`)() };
    }
    const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
    try {
      return await import(url);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  /** A model that holds the stored values and never changes. */
  function storedModel(state) {
    return { get: (name) => state[name], set() {}, save_changes() {}, send() {}, on() {}, off() {} };
  }

  async function preview(tag) {
    const panels = anywidgets(JSON.parse(tag.textContent).model_id);
    if (panels.length === 0) return;
    const area = document.createElement("div");
    area.className = "widget-subarea widget-preview";
    const box = document.createElement("div");
    box.className = "jupyter-widgets widget-container widget-box widget-vbox";
    area.append(box);
    tag.before(area);
    const cleanups = [];
    area.addEventListener("widget-live", () => cleanups.forEach((cleanup) => cleanup?.()));
    for (const state of panels) {
      const el = document.createElement("div");
      el.className = "jupyter-widgets";
      box.append(el);
      const exported = (await load(state._esm)).default;
      const widget = typeof exported === "function" ? await exported() : exported;
      cleanups.push(await widget.render({ model: storedModel(state), el }));
    }
  }

  const previewed = new WeakSet();
  const observer = new MutationObserver(() => {
    for (const tag of document.querySelectorAll(VIEW)) {
      if (previewed.has(tag)) continue;
      previewed.add(tag);
      preview(tag).catch((error) => console.warn("no preview of a widget:", error));
    }
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", () => observer.disconnect());
})();

// Search suggestions while typing (progressive enhancement: the form works without this).
const DELAY_MS = 150;

for (const form of document.querySelectorAll("[data-sok]")) {
  const input = form.querySelector("input[name=q]");
  const box = form.querySelector("[data-forslag]");
  const count = form.querySelector("[role=status]");  // outside the hidden box, so it is announced
  const list = box.querySelector("ul");
  let timer = null;
  let latest = 0;  // the newest question; an older answer arriving late is dropped

  const clear = () => {
    latest++;  // an answer still on its way belongs to text that is gone
    list.replaceChildren();
    count.textContent = "";
    box.hidden = true;
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) { clear(); return; }
    timer = setTimeout(async () => {
      const ask = ++latest;
      try {
        const res = await fetch(`/api/v1/sok?q=${encodeURIComponent(q)}&limit=8`);
        if (!res.ok || ask !== latest) return;
        const body = await res.json();
        if (ask !== latest) return;
        list.replaceChildren(...body.traffar.map((t) => {
          const li = document.createElement("li");
          const a = document.createElement("a");
          a.href = t.sida;
          a.textContent = t.namn;
          const span = document.createElement("span");
          span.className = "hjalp";
          span.textContent = ` ${t.typ === "kommun" ? "kommun" : "område"}, ${t.sammanhang}`;
          li.append(a, span);
          return li;
        }));
        count.textContent = body.antal === 0 ? "Inga förslag" : `${body.antal} förslag; pil ned för att gå till dem`;
        box.dataset.q = q;  // which query the list answers
        box.hidden = false;
      } catch {
        clear();
      }
    }, DELAY_MS);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") clear();
    if (ev.key === "ArrowDown" && !box.hidden && list.firstElementChild) {
      ev.preventDefault();
      list.querySelector("a").focus();
    }
  });
  // Arrow keys move between the suggestions; Escape goes back to the search field.
  list.addEventListener("keydown", (ev) => {
    const links = [...list.querySelectorAll("a")];
    const i = links.indexOf(document.activeElement);
    if (ev.key === "ArrowDown" && i < links.length - 1) { ev.preventDefault(); links[i + 1].focus(); }
    if (ev.key === "ArrowUp") { ev.preventDefault(); (i > 0 ? links[i - 1] : input).focus(); }
    if (ev.key === "Escape") { clear(); input.focus(); }
  });
}

// Loaded in <head>, before the page is drawn: marks that JavaScript runs, so that fallbacks meant
// for pages without it (.js-hide) never flash. A file, not an inline script: the
// Content-Security-Policy allows scripts from our static files only.
document.documentElement.classList.add("js");

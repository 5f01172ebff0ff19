// Loaded before redoc.standalone.js on /redoc. ReDoc's side menu shows a logo from its CDN; the
// page must work offline and load nothing from other hosts (the Content-Security-Policy would
// block it anyway), so a remote image source becomes an empty local one before any request.
(function () {
  var kBlank = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  function IsRemote(value) {
    try {
      var url = new URL(String(value), window.location.href);
      return (url.protocol === "http:" || url.protocol === "https:") &&
          url.origin !== window.location.origin;
    } catch (e) {
      return false;
    }
  }
  var setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "src" && IsRemote(value)) value = kBlank;
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      src.set.call(this, IsRemote(value) ? kBlank : value);
    },
  });
})();

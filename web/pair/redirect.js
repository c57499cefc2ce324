// /pair#code=XYZ (the link in the pairing QR code) → /#pair=XYZ, where the app
// exchanges the code. A classic script so it runs before anything renders.
(function () {
  var match = /(?:^#|&)code=([^&]+)/.exec(location.hash);
  location.replace(match ? "/#pair=" + match[1] : "/");
})();

# The native half of the content layer (native/README.md): built by `npm ci`
# (the package's install script) with node-gyp against Node's own headers.
{
  "targets": [
    {
      "target_name": "arca_native",
      "sources": ["src/arca_native.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=0x10100000L", "OPENSSL_SUPPRESS_DEPRECATED"]
    }
  ]
}

# node-gyp build of the addon. Headers come from the installed Node (--nodedir=/usr, see the
# Makefile) and from node-addon-api in node_modules: nothing is downloaded.
{
  "targets": [
    {
      "target_name": "bulwark_native",
      "sources": ["addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=gnu++17", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
    }
  ]
}

# simdjson for bit_ttt: compiled into the library from its single-file source when that source is present
# (scripts/get-simdjson-source.sh puts Debian's there), otherwise the system's shared library (libsimdjson.so).
#
#   TTT_BUNDLED_SIMDJSON  AUTO (default): the source when found, else the shared library with a warning;
#                         ON: the source or a configure error (release builds, MinGW, the Python wheel);
#                         OFF: always the shared library.
#   TTT_SIMDJSON_SOURCE_DIR  the folder with simdjson.cpp and simdjson.h.
#
# Either way the target is simdjson::simdjson, so the rest of the build does not care which one it got.
# TTT_SIMDJSON_BUNDLED tells the packaging code (cmake/package.cmake) what was chosen.
set(TTT_BUNDLED_SIMDJSON "AUTO" CACHE STRING "Compile simdjson into bit_ttt from its source: AUTO, ON or OFF")
set(TTT_SIMDJSON_VERSION 3.0.1)
if(NOT TTT_SIMDJSON_SOURCE_DIR)
  find_path(TTT_SIMDJSON_SOURCE_DIR simdjson.cpp NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH
    PATHS "$ENV{TTT_SIMDJSON_SOURCE_DIR}"
          "$ENV{TTT_DEPS_DIR}/simdjson-${TTT_SIMDJSON_VERSION}"
          "$ENV{HOME}/.cache/bit_ttt/simdjson-${TTT_SIMDJSON_VERSION}"
          "$ENV{USERPROFILE}/.cache/bit_ttt/simdjson-${TTT_SIMDJSON_VERSION}"
          "/usr/local/src/simdjson-${TTT_SIMDJSON_VERSION}")
endif()

set(TTT_SIMDJSON_BUNDLED OFF)
if(NOT TTT_BUNDLED_SIMDJSON STREQUAL "OFF" AND TTT_SIMDJSON_SOURCE_DIR AND EXISTS "${TTT_SIMDJSON_SOURCE_DIR}/simdjson.cpp")
  set(TTT_SIMDJSON_BUNDLED ON)
elseif(TTT_BUNDLED_SIMDJSON STREQUAL "ON")
  message(FATAL_ERROR "TTT_BUNDLED_SIMDJSON=ON but simdjson.cpp was not found (TTT_SIMDJSON_SOURCE_DIR="
                      "'${TTT_SIMDJSON_SOURCE_DIR}'); run scripts/get-simdjson-source.sh")
endif()

if(TTT_SIMDJSON_BUNDLED)
  message(STATUS "bit_ttt: simdjson compiled in from ${TTT_SIMDJSON_SOURCE_DIR}")
  # Objects, so that the installed static library can carry them too (a user's link needs no simdjson).
  add_library(ttt_simdjson_objects OBJECT "${TTT_SIMDJSON_SOURCE_DIR}/simdjson.cpp")
  target_include_directories(ttt_simdjson_objects SYSTEM PUBLIC "$<BUILD_INTERFACE:${TTT_SIMDJSON_SOURCE_DIR}>")
  if(NOT MSVC)
    # Third-party code: its warnings are not ours to fix, and it is optimized even in Debug builds (a parser at -O0
    # would only slow the tests that load tokenizer.json), without debug information.
    target_compile_options(ttt_simdjson_objects PRIVATE -w -O2 -g0)
    if(TTT_SANITIZE)
      # Not instrumented, like the system library sanitizer builds used before: instrumenting this one 1 MB file
      # takes 15 times longer (about 90 s of CPU), which the test command cannot afford. Our code stays instrumented.
      target_compile_options(ttt_simdjson_objects PRIVATE -fno-sanitize=all)
    endif()
  endif()
  add_library(ttt_simdjson STATIC $<TARGET_OBJECTS:ttt_simdjson_objects>)
  target_include_directories(ttt_simdjson SYSTEM PUBLIC "$<BUILD_INTERFACE:${TTT_SIMDJSON_SOURCE_DIR}>")
  add_library(simdjson::simdjson ALIAS ttt_simdjson)
else()
  find_package(simdjson REQUIRED)
  if(TTT_BUNDLED_SIMDJSON STREQUAL "AUTO")
    message(WARNING "bit_ttt: simdjson source not found; libbit_ttt links the shared libsimdjson, so the library "
                    "is not self-contained (run scripts/get-simdjson-source.sh for a distributable build)")
  endif()
endif()

# Bit-Llama Studio (`bit-ttt studio`): an HTTP server (cpp-httplib, Debian's libcpp-httplib-dev, header-only) and
# a page of plain HTML/CSS/JS from tools/studio/web/, turned into a C++ source at build time (no npm, no CDN).
# Included from the top-level CMakeLists.txt after the bit-ttt target exists. Debian builds httplib as a shared
# library (its pkg-config file carries the defines the header needs). Without it the rest of bit-ttt still builds
# and `bit-ttt studio` says what to install.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(TTT_HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
endif()
if(NOT TTT_HTTPLIB_FOUND)
  message(WARNING "cpp-httplib not found (Debian: libcpp-httplib-dev): `bit-ttt studio` is left out")
  return()
endif()

file(GLOB TTT_STUDIO_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
file(GLOB TTT_STUDIO_WEB CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/web/*)
set(TTT_STUDIO_ASSETS_CPP ${CMAKE_BINARY_DIR}/studio_assets.cpp)
add_custom_command(
  OUTPUT ${TTT_STUDIO_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${CMAKE_CURRENT_LIST_DIR}/web -DOUT=${TTT_STUDIO_ASSETS_CPP}
          -P ${CMAKE_CURRENT_LIST_DIR}/embed_assets.cmake
  DEPENDS ${TTT_STUDIO_WEB} ${CMAKE_CURRENT_LIST_DIR}/embed_assets.cmake
  COMMENT "Embedding the studio page (tools/studio/web)")
target_sources(bit-ttt PRIVATE ${TTT_STUDIO_SOURCES} ${TTT_STUDIO_ASSETS_CPP})
target_include_directories(bit-ttt PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(bit-ttt PRIVATE PkgConfig::TTT_HTTPLIB)
target_compile_definitions(bit-ttt PRIVATE TTT_HAVE_STUDIO=1)

# Installation and package files: what `cmake --install` puts under the prefix for users' builds.
#
#   include/bit_ttt.h
#   lib/libbit_ttt.so.<ABI> (+ libbit_ttt.so link)   |  bin/bit_ttt.dll + lib/libbit_ttt.dll.a  (Windows)
#   lib/libbit_ttt.a                                    the static library (TTT_INSTALL_STATIC), simdjson included
#   lib/cmake/bit_ttt/bit_ttt-config.cmake              find_package(bit_ttt CONFIG): bit_ttt::bit_ttt (shared),
#                                                       bit_ttt::bit_ttt_static
#   lib/pkgconfig/bit_ttt.pc                            pkg-config --cflags --libs [--static] bit_ttt
include(CMakePackageConfigHelpers)
option(TTT_INSTALL_STATIC "Also install the static library libbit_ttt.a (target bit_ttt::bit_ttt_static)" ON)

install(TARGETS bit_ttt EXPORT bit_ttt-targets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/bit_ttt.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(MINGW)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bit_ttt.def DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

# The static library users link: the same objects as the shared one, plus simdjson's when it is compiled in, so a
# user's link needs only the C++ runtime and threads. (bit_ttt_static, which the tests link, exposes internal
# headers and is not installed.)
set(TTT_PC_PRIVATE_LIBS "-lstdc++ -lm")
set(TTT_CONFIG_DEPENDENCIES "find_dependency(Threads)")
if(TTT_INSTALL_STATIC)
  add_library(bit_ttt_sdk_static STATIC $<TARGET_OBJECTS:bit_ttt_objects>)
  target_include_directories(bit_ttt_sdk_static INTERFACE $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                                          $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(bit_ttt_sdk_static INTERFACE Threads::Threads)
  if(TTT_SIMDJSON_BUNDLED)
    target_sources(bit_ttt_sdk_static PRIVATE $<TARGET_OBJECTS:ttt_simdjson_objects>)
  else()
    target_link_libraries(bit_ttt_sdk_static INTERFACE simdjson::simdjson)
    string(APPEND TTT_CONFIG_DEPENDENCIES "\nfind_dependency(simdjson)")
    string(APPEND TTT_PC_PRIVATE_LIBS " -lsimdjson")
  endif()
  set_target_properties(bit_ttt_sdk_static PROPERTIES OUTPUT_NAME bit_ttt EXPORT_NAME bit_ttt_static
    LINKER_LANGUAGE CXX)
  install(TARGETS bit_ttt_sdk_static EXPORT bit_ttt-targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

set(TTT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bit_ttt)
install(EXPORT bit_ttt-targets NAMESPACE bit_ttt:: DESTINATION ${TTT_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/bit_ttt-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/bit_ttt-config.cmake INSTALL_DESTINATION ${TTT_CMAKE_DIR})
# 0.x: a new minor version may change the ABI (TTT_ABI_VERSION tells), so only the same minor version matches.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/bit_ttt-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bit_ttt-config.cmake ${CMAKE_CURRENT_BINARY_DIR}/bit_ttt-config-version.cmake
  DESTINATION ${TTT_CMAKE_DIR})

# pkg-config, relocatable: the prefix is found from the .pc file's own place.
file(RELATIVE_PATH TTT_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/bit_ttt.pc.in ${CMAKE_CURRENT_BINARY_DIR}/bit_ttt.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bit_ttt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

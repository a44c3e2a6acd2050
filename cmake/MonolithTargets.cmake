# Helpers that turn the folder layout into targets and make the module boundary (a
# module's public face is its api.hpp and events.hpp, docs/architecture.md "Rules")
# physical: other targets see only what is exposed here.
#
# Every target includes ${MONOLITH_INCLUDE_DIR}, a tree of symlinks:
#   <folder>/            -> the whole top-level folder (actors, config, http, persistence)
#   modules/<m>/api.hpp  -> only the public face of each module
#   modules/<m>/events.hpp
# A module's private headers are included by relative name from inside its folder, and
# its module.hpp is exposed only to the module list (target `modules`).

set(MONOLITH_INCLUDE_DIR "${CMAKE_BINARY_DIR}/include")
set(MONOLITH_REGISTRATION_DIR "${CMAKE_BINARY_DIR}/registration")
file(MAKE_DIRECTORY "${MONOLITH_INCLUDE_DIR}/modules" "${MONOLITH_REGISTRATION_DIR}/modules")

# Warnings are errors on the project's own targets (CI builds with this on); a newer compiler
# with new warnings can build with -DMONOLITH_WERROR=OFF until they are fixed.
option(MONOLITH_WERROR "Treat warnings as errors in the project's targets" ON)

function(monolith_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(MONOLITH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_compile_features(${target} PUBLIC cxx_std_17)
endfunction()

# monolith_folder_library(<folder> SOURCES ... LIBS ...)
function(monolith_folder_library folder)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  file(CREATE_LINK "${CMAKE_SOURCE_DIR}/${folder}" "${MONOLITH_INCLUDE_DIR}/${folder}" SYMBOLIC)
  add_library(${folder} STATIC ${ARG_SOURCES})
  target_include_directories(${folder} PUBLIC "${MONOLITH_INCLUDE_DIR}")
  target_link_libraries(${folder} PUBLIC ${ARG_LIBS})
  monolith_warnings(${folder})
endfunction()

# monolith_module(<name> SOURCES ... LIBS ...): target module_<name>; embeds the SQL files
# of modules/<name>/migrations/ as <name>::migrations() (see persistence/migration.hpp).
function(monolith_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  set(src "${CMAKE_SOURCE_DIR}/modules/${name}")
  file(MAKE_DIRECTORY "${MONOLITH_INCLUDE_DIR}/modules/${name}"
                      "${MONOLITH_REGISTRATION_DIR}/modules/${name}")
  foreach(public api.hpp events.hpp)
    file(CREATE_LINK "${src}/${public}" "${MONOLITH_INCLUDE_DIR}/modules/${name}/${public}" SYMBOLIC)
  endforeach()
  file(CREATE_LINK "${src}/module.hpp" "${MONOLITH_REGISTRATION_DIR}/modules/${name}/module.hpp" SYMBOLIC)

  # Embed migrations so the binary carries its own schema.
  file(GLOB sql_files "${src}/migrations/*.sql")
  list(SORT sql_files)
  set(body "")
  foreach(sql ${sql_files})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${sql}")
    get_filename_component(file_name "${sql}" NAME)
    string(REGEX MATCH "^[0-9]+" version "${file_name}")
    file(READ "${sql}" text)
    string(APPEND body "    {${version}, \"${file_name}\", R\"monolith_sql(${text})monolith_sql\"},\n")
  endforeach()
  set(generated "${CMAKE_BINARY_DIR}/generated/${name}_migrations.cpp")
  file(WRITE "${generated}.tmp"
    "// Generated from modules/${name}/migrations by cmake/MonolithTargets.cmake.\n"
    "#include \"persistence/migration.hpp\"\n\n"
    "namespace ${name} {\n"
    "std::vector<persistence::migration> migrations() {\n  return {\n${body}  };\n}\n"
    "} // namespace ${name}\n")
  configure_file("${generated}.tmp" "${generated}" COPYONLY)

  add_library(module_${name} STATIC ${ARG_SOURCES} "${generated}")
  target_include_directories(module_${name} PUBLIC "${MONOLITH_INCLUDE_DIR}")
  target_link_libraries(module_${name} PUBLIC ${ARG_LIBS})
  monolith_warnings(module_${name})
  add_library(module_${name}_registration INTERFACE)
  target_include_directories(module_${name}_registration INTERFACE "${MONOLITH_REGISTRATION_DIR}")
  target_link_libraries(module_${name}_registration INTERFACE module_${name})
endfunction()

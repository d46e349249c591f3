# install.cmake - `cmake --install` / `make install` (DESTDIR and
# CMAKE_INSTALL_PREFIX honoured) and the Debian package (`cpack -G DEB`).
# docs/install.md says what goes where; test/integration/package.sh checks it.
include(GNUInstallDirs)

# man pages and shell completions, written by the binary just built
set(NC_GEN ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${NC_GEN})
set(NC_GENERATED)
foreach(gen "novacron.1|man;1" "novacron-spec.5|man;5" "novacron.bash|completion;bash"
            "_novacron|completion;zsh")
  string(REPLACE "|" ";" parts "${gen}")
  list(GET parts 0 out)
  list(SUBLIST parts 1 -1 args)
  add_custom_command(OUTPUT ${NC_GEN}/${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${NC_GEN}/${out} -DEXE=$<TARGET_FILE:novacron> "-DARGS=${args}"
      -P ${CMAKE_SOURCE_DIR}/cmake/run-to-file.cmake
    DEPENDS novacron ${CMAKE_SOURCE_DIR}/cmake/run-to-file.cmake
    COMMENT "Generating ${out}" VERBATIM)
  list(APPEND NC_GENERATED ${NC_GEN}/${out})
endforeach()
add_custom_target(nc-generated ALL DEPENDS ${NC_GENERATED})

install(TARGETS novacron RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${NC_GEN}/novacron.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${NC_GEN}/novacron-spec.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${NC_GEN}/novacron.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME novacron)
install(FILES ${NC_GEN}/_novacron DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
# the systemd unit (dist/novacron.service names /usr/bin/novacron and
# /etc/novacron/serve.yaml: the package's paths; another prefix gets its own)
# and /etc/novacron/serve.yaml (PREFIX/etc for prefixes other than /usr)
set(NC_SYSTEMD_UNITDIR "" CACHE PATH
    "where the systemd unit goes (default /lib/systemd/system for the prefix /usr, else PREFIX/lib/systemd/system)")
install(CODE "set(NC_SRC \"${CMAKE_SOURCE_DIR}\")
  set(NC_GEN \"${NC_GEN}\")
  set(NC_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(NC_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
  set(NC_SYSTEMD_UNITDIR \"${NC_SYSTEMD_UNITDIR}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/install-dist.cmake)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY dist/prometheus dist/grafana DESTINATION ${CMAKE_INSTALL_DOCDIR}/dist)

# the Debian package: cd build && cpack -G DEB (files under /usr and /etc, whatever
# prefix the build was configured with; cpack runs the install into its staging
# folder through DESTDIR, so nothing lands on the machine)
set(CPACK_PACKAGE_NAME novacron)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "NovaCron maintainers <novacron@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GitOps reconciler for KVM/libvirt clusters")
set(CPACK_PACKAGE_DESCRIPTION "NovaCron reads a cluster's desired state (hosts, VMs, storage, networks,\nbackups) as YAML from git, plans and converges it through libvirt.")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libvirt-clients, git")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libvirt-daemon-system, fence-agents, rrdcached")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/dist/debian/postinst ${CMAKE_SOURCE_DIR}/dist/debian/prerm ${CMAKE_SOURCE_DIR}/dist/debian/postrm
  ${CMAKE_SOURCE_DIR}/dist/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES ON)
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
include(CPack)

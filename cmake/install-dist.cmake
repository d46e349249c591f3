# install-dist.cmake - run by `cmake --install` / cpack (install(SCRIPT)):
# the files whose place depends on the prefix given at install time, which may
# differ from the one configured (cpack installs the CI's /usr/local build
# under /usr): the systemd unit, with ExecStart=, --config and Documentation=
# naming the installed paths, and the example configuration. file(INSTALL)
# adds $DESTDIR itself.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(sysconf /etc)
  set(unitdir /lib/systemd/system)
else()
  set(sysconf "${prefix}/etc")
  set(unitdir "${prefix}/lib/systemd/system")
endif()
if(NC_SYSTEMD_UNITDIR)
  set(unitdir "${NC_SYSTEMD_UNITDIR}")
endif()
file(READ "${NC_SRC}/dist/novacron.service" unit)
string(REPLACE "/usr/bin/novacron" "${prefix}/${NC_BINDIR}/novacron" unit "${unit}")
string(REPLACE "/etc/novacron/serve.yaml" "${sysconf}/novacron/serve.yaml" unit "${unit}")
string(REPLACE "file:///usr/share/doc/novacron/" "file://${prefix}/${NC_DOCDIR}/" unit "${unit}")
file(WRITE "${NC_GEN}/install/novacron.service" "${unit}")
file(INSTALL "${NC_GEN}/install/novacron.service" DESTINATION "${unitdir}")
# an existing serve.yaml is the operator's: a reinstall keeps it (as dpkg does
# with the conffile) instead of putting the example back over it
if(EXISTS "$ENV{DESTDIR}${sysconf}/novacron/serve.yaml")
  message(STATUS "Keeping: $ENV{DESTDIR}${sysconf}/novacron/serve.yaml (the example is dist/serve.yaml)")
else()
  file(INSTALL "${NC_SRC}/dist/serve.yaml" DESTINATION "${sysconf}/novacron"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
endif()

"""Checks the fake KSC server with Kaspersky's own Python client, KlAkOAPI (package ussl-ksc).

Reads the JSON line printed by `examples/fake_ksc.rs` from argv[1] and talks to the server
exactly as KlAkOAPI does; any wire-format mismatch makes it raise or fail an assertion.
"""

import json
import sys

from KlAkOAPI.AdmServer import KlAkAdmServer
from KlAkOAPI.ChunkAccessor import KlAkChunkAccessor
from KlAkOAPI.Error import KlAkError, KlAkResponseError
from KlAkOAPI.GroupSyncIterator import KlAkGroupSyncIterator
from KlAkOAPI.HostGroup import KlAkHostGroup
from KlAkOAPI.LicenseKeys import KlAkLicenseKeys
from KlAkOAPI.Params import KlAkArray, KlAkParams
from KlAkOAPI.Session import KlAkSession
from KlAkOAPI.VServers import KlAkVServers


def read_iterator(server, iterator):
    """All rows of a GroupSyncIterator; the last ones come together with bEOF."""
    rows = []
    reader = KlAkGroupSyncIterator(server)
    while True:
        response = reader.GetNextItems(iterator, 2)
        rows += list(response.OutPar("pData")["KLCSP_ITERATOR_ARRAY"] or [])
        if response.OutPar("bEOF"):
            break
    reader.ReleaseIterator(iterator)
    return rows


def connect(fake, vserver=""):
    """KlAkOAPI passes `verify` to the login request only; later calls use the requests session,
    where REQUESTS_CA_BUNDLE from the environment would override it (and a proxy could interfere)."""
    url, ca = fake["url"], fake["ca_pem_path"]
    server = KlAkAdmServer.Create(url, fake["user"], fake["password"], internal_user=True, verify=ca, vserver=vserver)
    server.session.trust_env = False
    server.session.verify = ca
    return server


def main():
    fake = json.loads(open(sys.argv[1]).readline())
    url, ca = fake["url"], fake["ca_pem_path"]

    # Bad credentials are refused.
    try:
        KlAkAdmServer.Create(url, fake["user"], "wrong", verify=ca)
        raise AssertionError("login with a wrong password succeeded")
    except KlAkResponseError:
        pass

    main_server = connect(fake)
    assert main_server.connected
    vservers = KlAkVServers(main_server).GetVServers(-1).RetVal()
    names = {vs["KLVSRV_DN"]: vs["KLVSRV_ENABLED"] for vs in vservers}
    assert names == {"Contoso": True, "Fabrikam": True, "Tailspin": True, "Northwind": False}, names
    assert isinstance(vservers[0]["KLVSRV_ID"], int)

    # A disabled virtual server refuses the login.
    try:
        connect(fake, "Northwind")
        raise AssertionError("login to a disabled virtual server succeeded")
    except KlAkResponseError:
        pass

    server = connect(fake, "Contoso")
    token = KlAkSession(server).StartSession().RetVal()
    assert isinstance(token, str) and token

    keys_api = KlAkLicenseKeys(server)
    fields = ["KLLIC_SERIAL", "KLLIC_PROD_NAME", "KLLIC_APP_ID", "KLLIC_KEY_TYPE", "KLLIC_LIMIT_DATE"]
    enum = keys_api.EnumKeys(fields, [], {}, 100)
    keys = read_iterator(server, enum.OutPar("wstrIterator"))
    assert len(keys) == enum.OutPar("lKeyCount") == 7, len(keys)
    by_serial = {key["KLLIC_SERIAL"]: key for key in keys}
    assert by_serial["C-KES-1"]["KLLIC_KEY_TYPE"] == 1
    assert by_serial["C-KES-1"]["KLLIC_LIMIT_DATE"].year == 2099  # parsed as a datetime
    assert by_serial["C-KES-SUB"]["KLLIC_LIMIT_DATE"] == ""  # subscription without end date
    assert set(by_serial["C-KES-1"].data.keys()) == set(fields)

    hosts_on_key = keys_api.AcquireKeyHosts(
        KlAkParams({"KLLIC_SERIAL": "C-KES-1"}),
        ["KLLICSRV_HOSTNAME", "KLLICSRV_HOST_CURRENT", "KLLICSRV_PRODUCT"], [], {}, 100)
    key_hosts = read_iterator(server, hosts_on_key.OutPar("wstrIterator"))
    assert len(key_hosts) == 6 and all(row["KLLICSRV_HOST_CURRENT"] is True for row in key_hosts)

    found = KlAkHostGroup(server).FindHosts(
        "", ["KLHST_WKS_HOSTNAME", "KLHST_WKS_DN", "KLHST_WKS_OS_NAME", "KLHST_WKS_CTYPE"], [],
        {"KLGRP_FIND_FROM_CUR_VS_ONLY": True}, 100)
    count, accessor = found.RetVal(), found.OutPar("strAccessor")
    chunks = KlAkChunkAccessor(server)
    hosts, start = [], 0
    while start < count:
        chunk = chunks.GetItemsChunk(accessor, start, 100).OutPar("pChunk")["KLCSP_ITERATOR_ARRAY"]
        assert chunk, "empty chunk before the end"
        hosts += list(chunk)
        start += len(chunk)
    chunks.Release(accessor)
    assert count == 8 and len({host["KLHST_WKS_HOSTNAME"] for host in hosts}) == 8
    assert {host["KLHST_WKS_DN"] for host in hosts} >= {"RECEPTION"}

    # A released accessor is gone: the server answers with a KSC error.
    try:
        chunks.GetItemsChunk(accessor, 0, 1)
        raise AssertionError("a released accessor still answered")
    except (KlAkError, KlAkResponseError):
        pass

    KlAkSession(server).EndSession()
    print("fake KSC speaks KlAkOAPI's wire format: ok")


if __name__ == "__main__":
    main()

"""Every Sigma modifier and value form, each with events that must and must not match."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from sigmakit.matching import Matcher

from matching_support import compiled, matches

# (detection, event, expected). Detections are YAML; backslashes in them are literal.
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    # -- plain values: whole-value match, wildcards, escapes, case ---------------------------
    ("plain equal", "sel: {Image: 'cmd.exe'}\ncondition: sel", {"Image": "CMD.EXE"}, True),
    ("plain is not contains", "sel: {Image: 'cmd.exe'}\ncondition: sel", {"Image": "C:\\cmd.exe"}, False),
    ("star prefix", "sel: {Image: 'cmd*'}\ncondition: sel", {"Image": "cmd.exe"}, True),
    ("star prefix anchored", "sel: {Image: 'cmd*'}\ncondition: sel", {"Image": "xcmd.exe"}, False),
    # In a rule, "\\*" is an escaped (literal) star; a backslash before a wildcard is "\\\\*".
    ("escaped star before path", "sel: {Image: 'C:\\*\\cmd.exe'}\ncondition: sel", {"Image": "c:\\x\\cmd.exe"}, False),
    ("star inside", "sel: {Image: 'C:\\\\*\\cmd.exe'}\ncondition: sel", {"Image": "c:\\windows\\system32\\cmd.exe"}, True),
    ("star inside negative", "sel: {Image: 'C:\\\\*\\cmd.exe'}\ncondition: sel", {"Image": "D:\\x\\cmd.exe"}, False),
    ("glob pieces in order", "sel: {F: '*a*b*c'}\ncondition: sel", {"F": "xxAyyBzzC"}, True),
    ("glob pieces out of order", "sel: {F: '*a*b*c'}\ncondition: sel", {"F": "xxByyAzzC"}, False),
    ("glob pieces may not overlap", "sel: {F: 'ab*ba'}\ncondition: sel", {"F": "aba"}, False),
    ("question mark one char", "sel: {F: 'a?c'}\ncondition: sel", {"F": "abc"}, True),
    ("question mark not zero chars", "sel: {F: 'a?c'}\ncondition: sel", {"F": "ac"}, False),
    ("question mark not two chars", "sel: {F: 'a?c'}\ncondition: sel", {"F": "abbc"}, False),
    ("question mark spans newline", "sel: {F: 'a?c'}\ncondition: sel", {"F": "a\nc"}, True),
    ("escaped star is literal", "sel: {F: 'a\\*c'}\ncondition: sel", {"F": "a*c"}, True),
    ("escaped star is not wildcard", "sel: {F: 'a\\*c'}\ncondition: sel", {"F": "abc"}, False),
    ("escaped question is literal", "sel: {F: 'a\\?'}\ncondition: sel", {"F": "ab"}, False),
    ("double backslash then star", "sel: {F: 'a\\\\*'}\ncondition: sel", {"F": "a\\anything"}, True),
    ("double backslash needs backslash", "sel: {F: 'a\\\\*'}\ncondition: sel", {"F": "anything"}, False),
    ("lone backslash is literal", "sel: {F: 'C:\\Windows\\'}\ncondition: sel", {"F": "c:\\windows\\"}, True),
    ("non-ASCII case folding", "sel: {F: 'ÄRGER'}\ncondition: sel", {"F": "ärger"}, True),
    ("full Unicode folding", "sel: {F: 'STRASSE'}\ncondition: sel", {"F": "straße"}, True),
    ("star matches empty", "sel: {F: 'a*'}\ncondition: sel", {"F": "a"}, True),
    ("empty string matches empty only", "sel: {F: ''}\ncondition: sel", {"F": ""}, True),
    ("empty string not other", "sel: {F: ''}\ncondition: sel", {"F": "x"}, False),
    ("empty string not missing", "sel: {F: ''}\ncondition: sel", {}, False),
    ("string not on missing field", "sel: {F: '*'}\ncondition: sel", {"G": "x"}, False),
    ("star matches any present text", "sel: {F: '*'}\ncondition: sel", {"F": ""}, True),
    # -- numbers, booleans, null -----------------------------------------------------------------
    ("int rule, string event", "sel: {EventID: 4688}\ncondition: sel", {"EventID": "4688"}, True),
    ("string rule, int event", "sel: {EventID: '4688'}\ncondition: sel", {"EventID": 4688}, True),
    ("int rule, int event", "sel: {EventID: 4688}\ncondition: sel", {"EventID": 4688}, True),
    ("int rule, float event", "sel: {EventID: 4688}\ncondition: sel", {"EventID": 4688.0}, True),
    ("int rule, other int", "sel: {EventID: 4688}\ncondition: sel", {"EventID": 4689}, False),
    ("int rule, non-numeric text", "sel: {EventID: 4688}\ncondition: sel", {"EventID": "4688x"}, False),
    ("int rule, bool event", "sel: {F: 1}\ncondition: sel", {"F": True}, False),
    ("bool rule, bool event", "sel: {F: true}\ncondition: sel", {"F": True}, True),
    ("bool rule, text event", "sel: {F: true}\ncondition: sel", {"F": "True"}, True),
    ("bool rule, other bool", "sel: {F: true}\ncondition: sel", {"F": False}, False),
    ("null matches missing", "sel: {F: null}\ncondition: sel", {}, True),
    ("null matches None", "sel: {F: null}\ncondition: sel", {"F": None}, True),
    ("null is not empty string", "sel: {F: null}\ncondition: sel", {"F": ""}, False),
    ("empty list is null", "sel: {F: []}\ncondition: sel", {}, True),
    ("empty list not a value", "sel: {F: []}\ncondition: sel", {"F": "x"}, False),
    # -- lists of values, lists in events ---------------------------------------------------------
    ("value list is OR", "sel: {F: [a, b]}\ncondition: sel", {"F": "B"}, True),
    ("value list neither", "sel: {F: [a, b]}\ncondition: sel", {"F": "c"}, False),
    ("event list any element", "sel: {F: b}\ncondition: sel", {"F": ["a", "b"]}, True),
    ("event list no element", "sel: {F: b}\ncondition: sel", {"F": ["a", "c"]}, False),
    ("dotted path into object", "sel: {process.name: cmd.exe}\ncondition: sel", {"process": {"name": "cmd.exe"}}, True),
    ("map items are AND", "sel: {F: a, G: b}\ncondition: sel", {"F": "a", "G": "x"}, False),
    # -- contains / startswith / endswith ---------------------------------------------------------
    ("contains", "sel: {F|contains: 'WHO'}\ncondition: sel", {"F": "cmd /c whoami"}, True),
    ("contains negative", "sel: {F|contains: 'who'}\ncondition: sel", {"F": "cmd /c hostname"}, False),
    ("contains list", "sel: {F|contains: [x, ami]}\ncondition: sel", {"F": "whoami"}, True),
    ("contains long list", "sel: {F|contains: [a1, a2, a3, a4, a5, a6, a7, a8, a9, who]}\ncondition: sel",
     {"F": "WHOAMI"}, True),
    ("contains long list negative", "sel: {F|contains: [a1, a2, a3, a4, a5, a6, a7, a8, a9, who]}\ncondition: sel",
     {"F": "hostname"}, False),
    ("contains wildcard inside", "sel: {F|contains: 'a*c'}\ncondition: sel", {"F": "xxabbbcxx"}, True),
    ("startswith", "sel: {F|startswith: 'C:\\Windows\\'}\ncondition: sel", {"F": "c:\\windows\\x.exe"}, True),
    ("startswith anchored", "sel: {F|startswith: 'Windows'}\ncondition: sel", {"F": "C:\\Windows"}, False),
    ("endswith", "sel: {F|endswith: '\\cmd.exe'}\ncondition: sel", {"F": "C:\\X\\CMD.EXE"}, True),
    ("endswith anchored", "sel: {F|endswith: '\\cmd.exe'}\ncondition: sel", {"F": "C:\\X\\cmd.exe.bak"}, False),
    ("endswith trailing backslash literal", "sel: {F|endswith: 'x\\'}\ncondition: sel", {"F": "ax\\"}, True),
    # -- all ---------------------------------------------------------------------------------------
    ("all requires every value", "sel: {F|contains|all: [a, b]}\ncondition: sel", {"F": "xaxbx"}, True),
    ("all missing one value", "sel: {F|contains|all: [a, b]}\ncondition: sel", {"F": "xaxx"}, False),
    ("all over plain values", "sel: {F|all: [a, a]}\ncondition: sel", {"F": "a"}, True),
    # -- cased -------------------------------------------------------------------------------------
    ("cased exact case", "sel: {F|cased: 'Abc'}\ncondition: sel", {"F": "Abc"}, True),
    ("cased other case", "sel: {F|cased: 'Abc'}\ncondition: sel", {"F": "abc"}, False),
    ("cased contains", "sel: {F|contains|cased: 'Abc'}\ncondition: sel", {"F": "xAbcx"}, True),
    ("cased contains other case", "sel: {F|contains|cased: 'Abc'}\ncondition: sel", {"F": "xABCx"}, False),
    ("cased endswith", "sel: {F|endswith|cased: '.EXE'}\ncondition: sel", {"F": "a.exe"}, False),
    # -- windash -----------------------------------------------------------------------------------
    ("windash slash", "sel: {F|windash|contains: ' -s '}\ncondition: sel", {"F": "x /s y"}, True),
    ("windash en dash", "sel: {F|windash|contains: ' -s '}\ncondition: sel", {"F": "x \u2013s y"}, True),
    ("windash em dash", "sel: {F|windash|contains: ' -s '}\ncondition: sel", {"F": "x \u2014s y"}, True),
    ("windash horizontal bar", "sel: {F|windash|contains: ' -s '}\ncondition: sel", {"F": "x \u2015s y"}, True),
    ("windash other char", "sel: {F|windash|contains: ' -s '}\ncondition: sel", {"F": "x +s y"}, False),
    ("windash inner dash kept", "sel: {F|windash|contains: 'a-b'}\ncondition: sel", {"F": "a/b"}, False),
    ("windash each position", "sel: {F|windash|contains: ' -a -b'}\ncondition: sel", {"F": " /a \u2013b"}, True),
    # -- re and its flags ---------------------------------------------------------------------------
    ("re searches", "sel: {F|re: 'b+c'}\ncondition: sel", {"F": "abbbcd"}, True),
    ("re negative", "sel: {F|re: 'b+c'}\ncondition: sel", {"F": "acd"}, False),
    ("re anchored", "sel: {F|re: '^b'}\ncondition: sel", {"F": "ab"}, False),
    ("re case-sensitive", "sel: {F|re: 'ABC'}\ncondition: sel", {"F": "abc"}, False),
    ("re i", "sel: {F|re|i: 'ABC'}\ncondition: sel", {"F": "xabcx"}, True),
    ("re i negative", "sel: {F|re|i: 'ABC'}\ncondition: sel", {"F": "xabx"}, False),
    ("re ignorecase negative", "sel: {F|re|ignorecase: '^ABC$'}\ncondition: sel", {"F": "abcd"}, False),
    ("re multiline negative", "sel: {F|re|multiline: '^c$'}\ncondition: sel", {"F": "a\ncd"}, False),
    ("re dotall negative", "sel: {F|re|dotall: 'a.b'}\ncondition: sel", {"F": "a\n\nb"}, False),
    ("re m negative", "sel: {F|re|m: '^b$'}\ncondition: sel", {"F": "a\nbb"}, False),
    ("re s negative", "sel: {F|re|s: '^a.b$'}\ncondition: sel", {"F": "a\r\nb"}, False),
    ("re ignorecase", "sel: {F|re|ignorecase: 'ABC'}\ncondition: sel", {"F": "abc"}, True),
    ("re m", "sel: {F|re|m: '^b$'}\ncondition: sel", {"F": "a\nb\nc"}, True),
    ("re without m", "sel: {F|re: '^b$'}\ncondition: sel", {"F": "a\nb\nc"}, False),
    ("re multiline", "sel: {F|re|multiline: '^c'}\ncondition: sel", {"F": "a\nc"}, True),
    ("re s", "sel: {F|re|s: 'a.b'}\ncondition: sel", {"F": "a\nb"}, True),
    ("re without s", "sel: {F|re: 'a.b'}\ncondition: sel", {"F": "a\nb"}, False),
    ("re dotall", "sel: {F|re|dotall: 'a.b'}\ncondition: sel", {"F": "a\nb"}, True),
    ("re dollar before final newline", "sel: {F|re: 'b$'}\ncondition: sel", {"F": "ab\n"}, True),
    ("re backreference (backtracking engine)", "sel: {F|re: '(a)\\1'}\ncondition: sel", {"F": "xaax"}, True),
    ("re backreference negative", "sel: {F|re: '(a)\\1'}\ncondition: sel", {"F": "xabx"}, False),
    ("re lookahead", "sel: {F|re: 'a(?=b)'}\ncondition: sel", {"F": "ab"}, True),
    ("re lookahead negative", "sel: {F|re: 'a(?=b)'}\ncondition: sel", {"F": "ac"}, False),
    ("re contains", "sel: {F|re|contains: 'b'}\ncondition: sel", {"F": "abc"}, True),
    ("re on number", "sel: {F|re: '^46\\d\\d$'}\ncondition: sel", {"F": 4688}, True),
    # -- base64 / base64offset / utf16 / wide -----------------------------------------------------------
    ("base64", "sel: {F|base64: 'whoami'}\ncondition: sel", {"F": base64.b64encode(b"whoami").decode()}, True),
    ("base64 whole value", "sel: {F|base64: 'whoami'}\ncondition: sel", {"F": "x" + base64.b64encode(b"whoami").decode()}, False),
    ("base64 contains", "sel: {F|base64|contains: 'whoami'}\ncondition: sel", {"F": "x d2hvYW1p y"}, True),
    ("base64 is cased", "sel: {F|base64|contains: 'whoami'}\ncondition: sel", {"F": "D2HVYW1P"}, False),
    ("base64offset 0", "sel: {F|base64offset|contains: 'http://'}\ncondition: sel",
     {"F": base64.b64encode(b"abchttp://x").decode()}, True),
    ("base64offset 1", "sel: {F|base64offset|contains: 'http://'}\ncondition: sel",
     {"F": base64.b64encode(b"ahttp://x").decode()}, True),
    ("base64offset 2", "sel: {F|base64offset|contains: 'http://'}\ncondition: sel",
     {"F": base64.b64encode(b"abhttp://x").decode()}, True),
    ("base64offset negative", "sel: {F|base64offset|contains: 'http://'}\ncondition: sel",
     {"F": base64.b64encode(b"abhttps:/x").decode()}, False),
    ("wide base64offset", "sel: {F|wide|base64offset|contains: 'ping'}\ncondition: sel",
     {"F": base64.b64encode("x ping y".encode("utf-16le")).decode()}, True),
    ("wide base64offset negative", "sel: {F|wide|base64offset|contains: 'ping'}\ncondition: sel",
     {"F": base64.b64encode("x ping y".encode("utf-8")).decode()}, False),
    ("utf16le base64", "sel: {F|utf16le|base64: 'ab'}\ncondition: sel",
     {"F": base64.b64encode("ab".encode("utf-16le")).decode()}, True),
    ("utf16be base64", "sel: {F|utf16be|base64: 'ab'}\ncondition: sel",
     {"F": base64.b64encode("ab".encode("utf-16be")).decode()}, True),
    ("utf16be is not le", "sel: {F|utf16be|base64: 'ab'}\ncondition: sel",
     {"F": base64.b64encode("ab".encode("utf-16le")).decode()}, False),
    ("utf16 has BOM", "sel: {F|utf16|base64: 'ab'}\ncondition: sel",
     {"F": base64.b64encode(b"\xff\xfe" + "ab".encode("utf-16le")).decode()}, True),
    ("utf16 without BOM", "sel: {F|utf16|base64: 'ab'}\ncondition: sel",
     {"F": base64.b64encode("ab".encode("utf-16le")).decode()}, False),
    ("wide raw text", "sel: {F|wide|contains: 'ab'}\ncondition: sel", {"F": "x" + "ab".encode("utf-16le").decode()}, True),
    ("wide non-ASCII base64", "sel: {F|wide|base64: 'né'}\ncondition: sel",
     {"F": base64.b64encode("né".encode("utf-16le")).decode()}, True),
    ("utf16le base64offset", "sel: {F|utf16le|base64offset|contains: 'ping'}\ncondition: sel",
     {"F": base64.b64encode("a ping".encode("utf-16le")).decode()}, True),
    ("utf16le base64offset negative", "sel: {F|utf16le|base64offset|contains: 'ping'}\ncondition: sel",
     {"F": base64.b64encode("a pong".encode("utf-16le")).decode()}, False),
    # -- cidr ---------------------------------------------------------------------------------------
    ("cidr v4 in", "sel: {Ip|cidr: '10.0.0.0/8'}\ncondition: sel", {"Ip": "10.1.2.3"}, True),
    ("cidr v4 out", "sel: {Ip|cidr: '10.0.0.0/8'}\ncondition: sel", {"Ip": "11.1.2.3"}, False),
    ("cidr v4 /12 not /8", "sel: {Ip|cidr: '172.16.0.0/12'}\ncondition: sel", {"Ip": "172.32.0.1"}, False),
    ("cidr v4 /12 in", "sel: {Ip|cidr: '172.16.0.0/12'}\ncondition: sel", {"Ip": "172.31.255.254"}, True),
    ("cidr v6 in", "sel: {Ip|cidr: '2001:db8::/32'}\ncondition: sel", {"Ip": "2001:0DB8:0:0::1"}, True),
    ("cidr v6 out", "sel: {Ip|cidr: '2001:db8::/32'}\ncondition: sel", {"Ip": "2001:db9::1"}, False),
    ("cidr v6 /128", "sel: {Ip|cidr: '::1/128'}\ncondition: sel", {"Ip": "0:0:0:0:0:0:0:1"}, True),
    ("cidr v4-mapped v6", "sel: {Ip|cidr: '10.0.0.0/8'}\ncondition: sel", {"Ip": "::ffff:10.0.0.1"}, True),
    ("cidr not an address", "sel: {Ip|cidr: '10.0.0.0/8'}\ncondition: sel", {"Ip": "10.0.0.x"}, False),
    ("cidr list", "sel: {Ip|cidr: ['10.0.0.0/8', '192.168.0.0/16']}\ncondition: sel", {"Ip": "192.168.1.1"}, True),
    # -- lt / lte / gt / gte --------------------------------------------------------------------------
    ("lt", "sel: {N|lt: 10}\ncondition: sel", {"N": 9}, True),
    ("lt equal", "sel: {N|lt: 10}\ncondition: sel", {"N": 10}, False),
    ("lte equal", "sel: {N|lte: 10}\ncondition: sel", {"N": "10"}, True),
    ("lte above", "sel: {N|lte: 10}\ncondition: sel", {"N": 10.5}, False),
    ("gt", "sel: {N|gt: 10}\ncondition: sel", {"N": "11"}, True),
    ("gt equal", "sel: {N|gt: 10}\ncondition: sel", {"N": 10}, False),
    ("gte numeric not text", "sel: {N|gte: 10}\ncondition: sel", {"N": "9"}, False),
    ("gte equal", "sel: {N|gte: 10}\ncondition: sel", {"N": 10}, True),
    ("gte float rule", "sel: {N|gte: 1.5}\ncondition: sel", {"N": "1.75"}, True),
    ("compare non-numeric", "sel: {N|gte: 1}\ncondition: sel", {"N": "many"}, False),
    ("compare missing", "sel: {N|gte: 1}\ncondition: sel", {}, False),
    # -- neq ------------------------------------------------------------------------------------------
    ("neq different", "sel: {F|neq: a}\ncondition: sel", {"F": "b"}, True),
    ("neq same", "sel: {F|neq: a}\ncondition: sel", {"F": "A"}, False),
    ("neq missing field", "sel: {F|neq: a}\ncondition: sel", {}, True),
    ("neq list differs from all", "sel: {F|neq: [a, b]}\ncondition: sel", {"F": "b"}, False),
    # -- exists ---------------------------------------------------------------------------------------
    ("exists present", "sel: {F|exists: true}\ncondition: sel", {"F": "x"}, True),
    ("exists empty string", "sel: {F|exists: true}\ncondition: sel", {"F": ""}, True),
    ("exists None", "sel: {F|exists: true}\ncondition: sel", {"F": None}, True),
    ("exists absent", "sel: {F|exists: true}\ncondition: sel", {}, False),
    ("exists false absent", "sel: {F|exists: false}\ncondition: sel", {}, True),
    ("exists false present", "sel: {F|exists: false}\ncondition: sel", {"F": ""}, False),
    # -- fieldref -------------------------------------------------------------------------------------
    ("fieldref equal", "sel: {A|fieldref: B}\ncondition: sel", {"A": "x.exe", "B": "X.EXE"}, True),
    ("fieldref different", "sel: {A|fieldref: B}\ncondition: sel", {"A": "x.exe", "B": "y.exe"}, False),
    ("fieldref other missing", "sel: {A|fieldref: B}\ncondition: sel", {"A": "x"}, False),
    ("fieldref startswith", "sel: {A|fieldref|startswith: B}\ncondition: sel", {"A": "abc", "B": "ab"}, True),
    ("fieldref startswith negative", "sel: {A|fieldref|startswith: B}\ncondition: sel", {"A": "abc", "B": "bc"}, False),
    ("fieldref endswith", "sel: {A|fieldref|endswith: B}\ncondition: sel", {"A": "abc", "B": "bc"}, True),
    ("fieldref contains", "sel: {A|fieldref|contains: B}\ncondition: sel", {"A": "abcd", "B": "bc"}, True),
    ("fieldref contains negative", "sel: {A|fieldref|contains: B}\ncondition: sel", {"A": "abcd", "B": "ca"}, False),
    ("fieldref numbers", "sel: {A|fieldref: B}\ncondition: sel", {"A": 5, "B": "5"}, True),
    ("fieldref neq", "sel: {A|fieldref|neq: B}\ncondition: sel", {"A": "x", "B": "y"}, True),
    # -- time parts -----------------------------------------------------------------------------------
    ("minute", "sel: {T|minute: 30}\ncondition: sel", {"T": "2024-06-03T08:30:01Z"}, True),
    ("minute other", "sel: {T|minute: 30}\ncondition: sel", {"T": "2024-06-03T08:31:01Z"}, False),
    ("hour", "sel: {T|hour: 8}\ncondition: sel", {"T": "2024-06-03 08:30:01.123"}, True),
    ("hour in UTC", "sel: {T|hour: 8}\ncondition: sel", {"T": "2024-06-03T10:30:01+02:00"}, True),
    ("hour other", "sel: {T|hour: 10}\ncondition: sel", {"T": "2024-06-03T10:30:01+02:00"}, False),
    ("day", "sel: {T|day: 3}\ncondition: sel", {"T": 1717401601}, True),
    ("day other", "sel: {T|day: 4}\ncondition: sel", {"T": 1717401601}, False),
    ("week", "sel: {T|week: 23}\ncondition: sel", {"T": "2024-06-03T00:00:00Z"}, True),
    ("week other", "sel: {T|week: 22}\ncondition: sel", {"T": "2024-06-03T00:00:00Z"}, False),
    ("month", "sel: {T|month: 6}\ncondition: sel", {"T": "2024-06-03T00:00:00Z"}, True),
    ("month other", "sel: {T|month: 7}\ncondition: sel", {"T": "2024-06-03T00:00:00Z"}, False),
    ("minute in ms epoch", "sel: {T|minute: 0}\ncondition: sel", {"T": "1717401601337"}, True),
    ("year", "sel: {T|year: 2024}\ncondition: sel", {"T": "2024-06-03T00:00:00Z"}, True),
    ("year other", "sel: {T|year: 2023}\ncondition: sel", {"T": "2024-06-03T00:00:00Z"}, False),
    ("time part not a time", "sel: {T|year: 2024}\ncondition: sel", {"T": "yesterday"}, False),
    # -- keywords ---------------------------------------------------------------------------------------
    ("keyword anywhere", "kw: [whoami]\ncondition: kw", {"A": 1, "B": "cmd /c WHOAMI /all"}, True),
    ("keyword nowhere", "kw: [whoami]\ncondition: kw", {"A": "hostname"}, False),
    ("keyword not in field names", "kw: [whoami]\ncondition: kw", {"whoami": "x"}, False),
    ("keyword in nested value", "kw: [whoami]\ncondition: kw", {"E": {"D": ["whoami"]}}, True),
    ("keyword list OR", "kw: [aaa, bbb]\ncondition: kw", {"F": "xbbbx"}, True),
    ("keyword all", "kw: {'|all': [aaa, bbb]}\ncondition: kw", {"F": "aaa", "G": "bbb"}, True),
    ("keyword all missing one", "kw: {'|all': [aaa, bbb]}\ncondition: kw", {"F": "aaa"}, False),
    ("keyword wildcard", "kw: ['a*c']\ncondition: kw", {"F": "xxabbcxx"}, True),
    ("keyword re", "kw: {'|re': 'a.c'}\ncondition: kw", {"F": "xabcx"}, True),
    ("keyword re negative", "kw: {'|re': 'a.c'}\ncondition: kw", {"F": "xacx"}, False),
    ("keyword cased", "kw: {'|cased': ['Abc']}\ncondition: kw", {"F": "xabcx"}, False),
    ("keyword number", "kw: [4688]\ncondition: kw", {"F": "id 4688 seen"}, True),
    # -- lists of maps ------------------------------------------------------------------------------------
    ("list of maps OR", "sel:\n  - {A: a}\n  - {B: b}\ncondition: sel", {"B": "b"}, True),
    ("list of maps inner AND", "sel:\n  - {A: a, C: c}\n  - {B: b}\ncondition: sel", {"A": "a"}, False),
]


@pytest.mark.parametrize("detection, event, expected", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_modifier(detection: str, event: dict[str, Any], expected: bool) -> None:
    assert matches(detection, event) is expected


def test_expand_uses_placeholder_values() -> None:
    detection = "sel: {User|expand: '%Admins%'}\ncondition: sel"
    values = {"Admins": ["root", "adm*"]}
    assert matches(detection, {"User": "ADMIN1"}, placeholders=values)
    assert matches(detection, {"User": "root"}, placeholders=values)
    assert not matches(detection, {"User": "guest"}, placeholders=values)


def test_expand_values_stay_or_under_all() -> None:
    detection = "sel: {User|expand|contains|all: ['%A%', 'z']}\ncondition: sel"
    values = {"A": ["x", "y"]}
    assert matches(detection, {"User": "yz"}, placeholders=values)
    assert not matches(detection, {"User": "xy"}, placeholders=values)


def test_expand_in_regex_is_literal() -> None:
    detection = "sel: {F|re|expand: '^%A%$'}\ncondition: sel"
    assert matches(detection, {"F": "a.b"}, placeholders={"A": ["a.b"]})
    assert not matches(detection, {"F": "axb"}, placeholders={"A": ["a.b"]})


def test_escaped_percent_is_not_a_placeholder() -> None:
    assert matches("sel: {F|expand: '100\\%'}\ncondition: sel", {"F": "100%"})


@pytest.mark.parametrize("expected", [True, False])
def test_every_modifier_has_positive_and_negative_cases(expected: bool) -> None:
    """Every modifier pySigma knows (and utf16le) is in a case that matches and one that does not."""
    from sigma.modifiers import modifier_mapping

    used = {
        modifier
        for _, detection, _, outcome in CASES if outcome is expected
        for key in re.findall(r"[\w.]*(?:\|[\w]+)+", detection)
        for modifier in key.split("|")[1:]
    }
    untested = sorted(set(modifier_mapping) - used - {"expand"})  # expand: tests below
    assert untested == []


def test_selections_matched_are_reported() -> None:
    matcher = compiled("a: {F: x}\nb: {G: y}\nc: {H: z}\ncondition: a and (b or c)")
    (hit,) = matcher.match([{"F": "x", "G": "y"}])
    assert hit.selections == ("a", "b")


def test_selections_are_reported_in_rule_order_also_those_the_condition_leaves_out() -> None:
    # b is compiled with the rule (the condition does not refer to it), a and c on the
    # first hit: the report still lists every matched selection in the rule's order.
    matcher = compiled("c: {H: z}\nb: {G: y}\na: {F: x}\ncondition: a or c")
    (hit,) = matcher.match([{"F": "x", "G": "y", "H": "z"}])
    assert hit.selections == ("c", "b", "a")


def test_a_fault_in_a_selection_the_condition_leaves_out_is_still_the_rule_s_error() -> None:
    text = ("title: T\nlogsource: {product: test}\ndetection:\n  sel: {F: x}\n"
            "  unused: {G|expand: '%nowhere%'}\n  condition: sel\n")
    matcher = Matcher.from_text(text)
    assert [error.feature for error in matcher.errors] == ["expand"]
    assert matcher.rules == ()

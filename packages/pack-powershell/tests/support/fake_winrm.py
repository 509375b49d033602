"""A fake WinRM endpoint at the transport level, in the spirit of pypsrp's own ``TransportFake``.

pypsrp's tests replace ``WSMan.transport`` with an object whose ``send(xml)`` replays recorded
answers. No Windows host was available to record ours, so this one *computes* them: it parses the
WS-Management envelope, defragments the PSRP messages with pypsrp's own classes, and answers like a
PowerShell endpoint (runspace pool opened, pipelines run, output streamed, pipeline states).
Everything above ``send()`` — pypsrp's ``WSMan``, ``RunspacePool``, ``PowerShell``, the CLIXML
serialiser and fragmenter — is the real library.

What a pipeline "does" is decided by ``run(commands)``, given the deserialised commands
(``[(name, is_script, {param: value}, use_local_scope)]``) and returning the output objects.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from pypsrp.complex_objects import PSInvocationState, RunspacePoolState
from pypsrp.messages import (
    ApplicationPrivateData,
    Destination,
    Message,
    MessageType,
    PipelineState,
    RunspacePoolStateMessage,
    SessionCapability,
)
from pypsrp.powershell import Fragmenter
from pypsrp.serializer import Serializer
from pypsrp.wsman import NAMESPACES, WSManAction

S, WSA, WSMAN, RSP = NAMESPACES["s"], NAMESPACES["wsa"], NAMESPACES["wsman"], NAMESPACES["rsp"]
WST = NAMESPACES["wst"]

Commands = list[tuple[str, bool, dict[str, Any], Any]]


class _ServerFragmenter(Fragmenter):
    """pypsrp's fragmenter, packing messages addressed to the client."""

    def fragment_to_client(self, data: Any, rpid: str, pid: str | None = None) -> bytes:
        msg = Message(Destination.CLIENT, rpid, pid, data, self.serializer)
        raw = msg.pack()
        from pypsrp.powershell import Fragment

        out = b""
        for i, (chunk, end) in enumerate(self._byte_iterator(raw, self.max_size)):
            out += Fragment(self.outgoing_counter, i, chunk, i == 0, end).pack()
        self.outgoing_counter += 1
        return out


class FakeWinRMTransport:
    """``send(xml) -> xml`` like ``pypsrp.wsman._TransportHTTP``; records every action it served."""

    def __init__(self, run: Callable[[Commands], list[Any]]) -> None:
        self.run = run
        self.serializer = Serializer()
        self.fragmenter = _ServerFragmenter(153600, self.serializer)
        self.incoming = Fragmenter(153600, self.serializer)
        self.shells: dict[str, dict[str, Any]] = {}
        self.actions: list[str] = []
        self.pipelines: list[Commands] = []
        self.closed = False
        self.failures: list[Exception] = []
        self.endpoint = "https://fakehost:5986/wsman"
        import threading

        self.signalled = threading.Event()  # set by a Signal (pypsrp's PowerShell.stop)

    def close(self) -> None:
        self.closed = True

    # -- WS-Management ------------------------------------------------------------------------
    def send(self, message: bytes, **_: Any) -> bytes:
        request = ET.fromstring(message)
        action = request.find("s:Header/wsa:Action", NAMESPACES).text  # type: ignore[union-attr]
        message_id = request.find("s:Header/wsa:MessageID", NAMESPACES).text  # type: ignore[union-attr]
        self.actions.append(action.rsplit("/", 1)[-1])  # type: ignore[union-attr]
        selector = request.find("s:Header/wsman:SelectorSet/wsman:Selector[@Name='ShellId']", NAMESPACES)
        shell_id = selector.text if selector is not None else None
        body = request.find("s:Body", NAMESPACES)
        if action == WSManAction.CREATE:
            return self._envelope(WSManAction.CREATE_RESPONSE, message_id, self._create(body))
        if action == WSManAction.COMMAND:
            return self._envelope(WSManAction.COMMAND_RESPONSE, message_id, self._command(shell_id, body))
        if action == WSManAction.RECEIVE:
            return self._envelope(WSManAction.RECEIVE_RESPONSE, message_id, self._receive(shell_id, body))
        if action == WSManAction.SIGNAL:
            self.signalled.set()
            return self._envelope(WSManAction.SIGNAL_RESPONSE, message_id, ET.Element(f"{{{RSP}}}SignalResponse"))
        if action == WSManAction.DELETE:
            self.shells.pop(shell_id or "", None)
            return self._envelope(WSManAction.DELETE_RESPONSE, message_id, None)
        raise AssertionError(f"the fake WinRM endpoint does not implement {action}")

    def _envelope(self, action: str, relates_to: str, content: ET.Element | None) -> bytes:
        env = ET.Element(f"{{{S}}}Envelope")
        header = ET.SubElement(env, f"{{{S}}}Header")
        ET.SubElement(header, f"{{{WSA}}}Action").text = action
        ET.SubElement(header, f"{{{WSA}}}MessageID").text = f"uuid:{uuid.uuid4()}"
        ET.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
        body = ET.SubElement(env, f"{{{S}}}Body")
        if isinstance(content, _Multi):
            body.extend(content)
        elif content is not None:
            body.append(content)
        return ET.tostring(env, encoding="utf-8")

    # -- PSRP -----------------------------------------------------------------------------------
    def _messages(self, b64: str) -> list[tuple[int, str, str, bytes]]:
        """(type, rpid, pid, raw message) of each PSRP message, reassembled from its fragments."""
        import struct

        from pypsrp.powershell import Fragment

        data, buffers, out = base64.b64decode(b64), {}, []
        while data:
            frag, data = Fragment.unpack(data)
            buffers[frag.object_id] = buffers.get(frag.object_id, b"") + frag.data
            if frag.end:
                raw = buffers.pop(frag.object_id)
                out.append((struct.unpack("<I", raw[4:8])[0], str(uuid.UUID(bytes_le=raw[8:24])),
                            str(uuid.UUID(bytes_le=raw[24:40])), raw))
        return out

    def _create(self, body: Any) -> ET.Element:
        creation = body.find("rsp:Shell/{http://schemas.microsoft.com/powershell}creationXml", NAMESPACES)
        messages = self._messages(creation.text)
        assert [m[0] for m in messages] == [MessageType.SESSION_CAPABILITY, MessageType.INIT_RUNSPACEPOOL]
        rpid = messages[0][1]
        shell_id = str(uuid.uuid4()).upper()
        out = self.fragmenter.fragment_to_client(SessionCapability("2.3", "2.0", "1.1.0.1"), rpid)
        out += self.fragmenter.fragment_to_client(ApplicationPrivateData({}), rpid)
        out += self.fragmenter.fragment_to_client(RunspacePoolStateMessage(state=RunspacePoolState.OPENED), rpid)
        self.shells[shell_id] = {"rpid": rpid, "pending": out, "commands": {}}
        created = ET.Element("wrapper")
        rc = ET.SubElement(created, f"{{{WST}}}ResourceCreated")
        ref = ET.SubElement(rc, f"{{{WSA}}}ReferenceParameters")
        sel = ET.SubElement(ref, f"{{{WSMAN}}}SelectorSet")
        ET.SubElement(sel, f"{{{WSMAN}}}Selector", Name="ShellId").text = shell_id
        shell = ET.SubElement(created, f"{{{RSP}}}Shell")
        ET.SubElement(shell, f"{{{RSP}}}ShellId").text = shell_id
        # the body holds both elements: unwrap by returning a container the caller appends piecewise
        return _Multi(list(created))  # type: ignore[return-value]

    def _command(self, shell_id: str | None, body: Any) -> ET.Element:
        shell = self.shells[shell_id or ""]
        line = body.find("rsp:CommandLine", NAMESPACES)
        command_id = line.attrib.get("CommandId") or str(uuid.uuid4()).upper()
        messages = self._messages(line.find("rsp:Arguments", NAMESPACES).text)
        raw = next(m for m in messages if m[0] == MessageType.CREATE_PIPELINE)
        pid = raw[2]
        commands = self._commands(raw[3][40:])
        self.pipelines.append(commands)
        shell["commands"][command_id] = (commands, pid)  # runs when the client asks for its output
        response = ET.Element(f"{{{RSP}}}CommandResponse")
        ET.SubElement(response, f"{{{RSP}}}CommandId").text = command_id
        return response

    def _execute(self, shell: dict[str, Any], commands: Commands, pid: str) -> bytes:
        """Run the pipeline (blocking, like a long-polled Receive) and pack its output and final state."""
        from pypsrp.messages import PipelineOutput

        try:
            outputs = self.run(commands)
            state = PipelineState(state=PSInvocationState.COMPLETED)
        except PipelineStopped:
            outputs, state = [], PipelineState(state=PSInvocationState.STOPPED)
        except Exception as exc:  # noqa: BLE001 - a failed pipeline
            self.failures.append(exc)
            outputs, state = [], PipelineState(state=PSInvocationState.FAILED)
        out = b""
        for value in outputs:
            msg = PipelineOutput()
            msg.data = value
            out += self._output_fragment(msg, shell["rpid"], pid)
        return out + self.fragmenter.fragment_to_client(state, shell["rpid"], pid)

    def _commands(self, clixml: bytes) -> Commands:
        """The commands of a CREATE_PIPELINE message, read from its CLIXML as a server would."""
        if clixml.startswith(b"\xef\xbb\xbf"):
            clixml = clixml[3:]
        root = ET.fromstring(clixml)
        commands: Commands = []
        for cmd in root.findall(".//Obj[@N='Cmds']/LST/Obj"):
            ms = cmd.find("MS")
            name = self.serializer.deserialize(ms.find("S[@N='Cmd']"))  # CLIXML escapes (_x000A_) undone
            is_script = (ms.find("B[@N='IsScript']").text or "").lower() == "true"
            local = ms.find("*[@N='UseLocalScope']")
            use_local = None if local is None or local.tag == "Nil" else (local.text or "").lower() == "true"
            params: dict[str, Any] = {}
            for arg in ms.findall("Obj[@N='Args']/LST/Obj/MS"):
                key = arg.find("*[@N='N']")
                value = arg.find("*[@N='V']")
                params[key.text if key is not None and key.tag == "S" else ""] = (
                    None if value is None or value.tag == "Nil" else self.serializer.deserialize(value))
            commands.append((name, is_script, params, use_local))
        return commands

    def _output_fragment(self, msg: Any, rpid: str, pid: str) -> bytes:
        from pypsrp.powershell import Fragment

        serialized = self.serializer.serialize(msg.data)
        data = ET.tostring(serialized, encoding="utf-8", method="xml") if not isinstance(serialized, bytes) else serialized
        header = Message(Destination.CLIENT, rpid, pid, _Typed(MessageType.PIPELINE_OUTPUT), self.serializer)
        import struct

        raw = (struct.pack("<I", Destination.CLIENT) + struct.pack("<I", MessageType.PIPELINE_OUTPUT)
               + header.rpid.bytes_le + header.pid.bytes_le + data)
        out = b""
        for i, (chunk, end) in enumerate(self.fragmenter._byte_iterator(raw, self.fragmenter.max_size)):
            out += Fragment(self.fragmenter.outgoing_counter, i, chunk, i == 0, end).pack()
        self.fragmenter.outgoing_counter += 1
        return out

    def _receive(self, shell_id: str | None, body: Any) -> ET.Element:
        shell = self.shells[shell_id or ""]
        desired = body.find("rsp:Receive/rsp:DesiredStream", NAMESPACES)
        command_id = desired.attrib.get("CommandId")
        response = ET.Element(f"{{{RSP}}}ReceiveResponse")
        if command_id is None:
            data, shell["pending"] = shell["pending"], b""
        elif command_id in shell["commands"]:
            data = self._execute(shell, *shell["commands"].pop(command_id))
        else:
            data = b""
        stream = ET.SubElement(response, f"{{{RSP}}}Stream", Name="stdout")
        stream.text = base64.b64encode(data).decode()
        if command_id is not None:
            stream.attrib["CommandId"] = command_id
            ET.SubElement(response, f"{{{RSP}}}CommandState", CommandId=command_id,
                          State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done")
        return response


class PipelineStopped(Exception):
    """Raised by ``run`` when the client stopped the pipeline (a Signal arrived)."""


class _Typed:
    def __init__(self, message_type: int) -> None:
        self.MESSAGE_TYPE = message_type


class _Multi(list):
    """Several sibling elements for one s:Body."""

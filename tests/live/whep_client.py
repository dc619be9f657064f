"""A WHEP viewer in its own process, for the vanished-peer test: `python -m tests.live.whep_client URL TOKEN`.

Connects over loopback, prints "connected" and then "video <seconds of frames received>" lines,
and watches until it is killed (SIGKILL: it never says goodbye, as a crashed browser would not).
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription

from streaming.webrtc import pin_host_addresses


async def main(base: str, token: str) -> None:
    pin_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    first: list[float] = []

    async def consume(track) -> None:
        while True:
            await track.recv()
            if track.kind == "video":
                now = time.monotonic()
                if not first:
                    first.append(now)
                print(f"video {now - first[0]:.2f}", flush=True)

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))

    @pc.on("connectionstatechange")
    def _state() -> None:
        print(pc.connectionState, flush=True)

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        r = await http.post("/whep", content=pc.localDescription.sdp, headers=headers)
        if r.status_code != 201:
            print(f"refused {r.status_code} {r.text}", flush=True)
            return
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

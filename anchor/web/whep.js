// A small WHEP client: POST an SDP offer, play the answer, reconnect by itself.
// Used by the player page (with a viewer token) and the control room's preview (with the control key).
"use strict";

export class WhepPlayer {
  constructor(video, { endpoint = "/whep", configUrl = "/webrtc/config", token = "", onState = () => {} } = {}) {
    this.video = video;
    this.endpoint = endpoint;
    this.configUrl = configUrl;
    this.token = token;
    this.onState = onState;
    this.pc = null;
    this.location = null;
    this.stopped = false;
    this.retry = 1000;
  }

  authHeaders() {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  async iceServers() {
    // Fetched for every connection: TURN credentials are short-lived and minted per viewer.
    const res = await fetch(this.configUrl, { headers: this.authHeaders() });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error?.message || `server answered ${res.status}`);
    return body.iceServers || [];
  }

  async start() {
    this.stopped = false;
    while (!this.stopped) {
      let why = "";
      try {
        await this.connect(await this.iceServers());
        this.retry = 1000;
        await this.untilBroken();
      } catch (err) {
        why = String(err.message || err);
        this.onState("error", why);
      }
      await this.hangup();
      if (this.stopped) break;
      this.onState("reconnecting", why);  // keep the reason on screen (e.g. a missing viewer token)
      await new Promise((r) => setTimeout(r, this.retry));
      this.retry = Math.min(this.retry * 2, 10000);
    }
  }

  async connect(iceServers) {
    this.onState("connecting");
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.ontrack = (ev) => {
      stream.addTrack(ev.track);
      this.video.srcObject = stream;
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const done = () => pc.iceGatheringState === "complete" && resolve();
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
    const res = await fetch(this.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...this.authHeaders() },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) {
      const body = await res.json().catch(() => ({}));
      throw new Error(body.error?.message || `server answered ${res.status}`);
    }
    this.location = res.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  }

  untilBroken() {
    return new Promise((resolve) => {
      const pc = this.pc;
      const check = () => {
        const s = pc.connectionState;
        if (s === "connected") this.onState("live");
        if (s === "failed" || s === "closed" || s === "disconnected") resolve();
      };
      pc.addEventListener("connectionstatechange", check);
      this.breakNow = resolve;
      check();
    });
  }

  async hangup() {
    if (this.location) {
      fetch(this.location, { method: "DELETE" }).catch(() => {});
      this.location = null;
    }
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
  }

  async stop() {
    this.stopped = true;
    if (this.breakNow) this.breakNow();
    await this.hangup();
    this.onState("stopped");
  }
}

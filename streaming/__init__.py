"""Transports only: encoders, file/RTMP/WebRTC sinks, clocks. Never imports `anchor`."""

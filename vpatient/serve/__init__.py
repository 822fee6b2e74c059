"""`vpatient serve`: one server process, many consultations, in the browser or from `vpatient chat/talk
--server URL`. The app is in `app`, the per-session state in `sessions`, the WebSocket protocol in
`connection`, the shared models in `models`, a Python client in `client`."""

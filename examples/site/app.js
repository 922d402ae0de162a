const clock = document.getElementById("clock");
const tick = () => clock.textContent = `Loaded at ${new Date().toLocaleTimeString()}`;
tick();

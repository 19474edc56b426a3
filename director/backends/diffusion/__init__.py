"""GPU backends built on diffusers: keyframes (image edit, text-to-image + IP-Adapter) and video."""

"""The Gen-1 model: video UNet, structure, content, guidance, windows, sampler, presets and loading."""

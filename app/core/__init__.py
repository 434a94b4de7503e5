"""Qt-free core: profiles, secrets, the Azure client, chat, audio, images, filters, errors, history."""

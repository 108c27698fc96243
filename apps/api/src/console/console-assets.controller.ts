import { Controller, Get, Header } from '@nestjs/common';
import { CONSOLE_CSS, CONSOLE_JS } from './console-assets';

/** The console's stylesheet and script (same origin, so the CSP needs no inline code). */
@Controller('console/assets')
export class ConsoleAssetsController {
  @Get('console.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  @Header('x-content-type-options', 'nosniff')
  css(): string {
    return CONSOLE_CSS;
  }

  @Get('console.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  @Header('x-content-type-options', 'nosniff')
  js(): string {
    return CONSOLE_JS;
  }
}
